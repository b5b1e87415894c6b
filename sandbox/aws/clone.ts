/**
 * A deep copy of plain data, as `structuredClone` makes it: plain objects and arrays are copied key by
 * key (an `undefined` value included), a Date is a new Date, a Uint8Array (or Buffer) a new Uint8Array with
 * the same bytes; anything else (a Map, a class instance, an error) is copied by `structuredClone` itself.
 * Why: on Node 20, `structuredClone` sends the value through a new MessageChannel each time, which costs
 * more than the simulated call whose answer it copies. Unlike `structuredClone`, an object reached twice is
 * copied twice, as an answer an SDK deserializes from JSON or XML never shares one; a cycle is not copied
 * (the simulated services' answers are trees).
 */
export const cloneData = <T>(value: T): T => {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(cloneData) as T;
  if (value instanceof Date) return new Date(value.getTime()) as T;
  if (value instanceof Uint8Array) return new Uint8Array(value) as T;
  const prototype = Object.getPrototypeOf(value) as unknown;
  if (prototype !== Object.prototype && prototype !== null) return structuredClone(value);
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) copy[key] = cloneData((value as Record<string, unknown>)[key]);
  return copy as T;
};
