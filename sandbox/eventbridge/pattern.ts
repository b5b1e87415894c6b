/**
 * EventBridge event pattern matching, as the default event bus applies rules
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html and
 * eb-create-pattern-operators.html). A pattern is an object whose leaves are arrays of matchers (OR);
 * fields are ANDed; nested objects match nested objects; `$or` holds alternative sub-patterns. An array
 * in the event matches when any of its elements matches. A malformed pattern throws
 * InvalidEventPatternException, naming what is wrong, as PutRule refuses it.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Pattern = Record<string, unknown>;

/** What PutRule answers for a pattern it cannot read. */
export class InvalidEventPatternError extends Error {
  public constructor(message: string) {
    super(`Event pattern is not valid. Reason: ${message}`);
    this.name = 'InvalidEventPatternException';
  }
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** `*` matches any run of characters; `\*` is a literal star. */
const wildcardRegExp = (wildcard: string): RegExp => {
  let source = '';
  for (let i = 0; i < wildcard.length; i += 1) {
    const char = wildcard[i] as string;
    if (char === '\\' && wildcard[i + 1] === '*') {
      source += '\\*';
      i += 1;
    } else if (char === '*') source += '.*';
    else source += char.replace(/[.+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's');
};

const ipv4 = (text: string): number | undefined => {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
};

const inCidr = (value: unknown, cidr: string, path: string): boolean => {
  const [network, bits] = cidr.split('/');
  const base = network === undefined ? undefined : ipv4(network);
  const prefix = Number(bits);
  if (base === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > 32)
    throw new InvalidEventPatternError(`${path}: "${cidr}" is not an IPv4 CIDR block`);
  if (typeof value !== 'string') return false;
  const address = ipv4(value);
  if (address === undefined) return false;
  const size = 2 ** (32 - prefix);
  return Math.floor(address / size) === Math.floor(base / size);
};

const NUMERIC_OPERATORS = ['<', '<=', '=', '>', '>='] as const;

const inRange = (value: unknown, spec: unknown, path: string): boolean => {
  if (!Array.isArray(spec) || spec.length === 0 || spec.length % 2 !== 0 || spec.length > 4)
    throw new InvalidEventPatternError(`${path}: numeric expects [operator, number] or two such pairs`);
  const checks: Array<(n: number) => boolean> = [];
  for (let i = 0; i < spec.length; i += 2) {
    const operator = spec[i];
    const bound = spec[i + 1];
    if (
      !NUMERIC_OPERATORS.includes(operator as (typeof NUMERIC_OPERATORS)[number]) ||
      typeof bound !== 'number'
    )
      throw new InvalidEventPatternError(`${path}: numeric has an unknown operator or a non-number bound`);
    checks.push((n) => {
      switch (operator) {
        case '<':
          return n < bound;
        case '<=':
          return n <= bound;
        case '=':
          return n === bound;
        case '>':
          return n > bound;
        default:
          return n >= bound;
      }
    });
  }
  return typeof value === 'number' && checks.every((check) => check(value));
};

/** `prefix`/`suffix` take a string, or `{ equals-ignore-case: string }`. */
const affix = (spec: unknown, path: string, operator: string): { text: string; ignoreCase: boolean } => {
  if (typeof spec === 'string') return { text: spec, ignoreCase: false };
  if (isObject(spec) && typeof spec['equals-ignore-case'] === 'string' && Object.keys(spec).length === 1)
    return { text: spec['equals-ignore-case'], ignoreCase: true };
  throw new InvalidEventPatternError(
    `${path}: ${operator} expects a string or { equals-ignore-case: string }`,
  );
};

const startsOrEnds = (
  value: unknown,
  spec: unknown,
  path: string,
  operator: 'prefix' | 'suffix',
): boolean => {
  const { text, ignoreCase } = affix(spec, path, operator);
  if (typeof value !== 'string') return false;
  const [subject, wanted] = ignoreCase ? [value.toLowerCase(), text.toLowerCase()] : [value, text];
  return operator === 'prefix' ? subject.startsWith(wanted) : subject.endsWith(wanted);
};

/** True when `value` (one leaf of the event, never an array) satisfies `anything-but`'s excluded set. */
const excluded = (value: Json, spec: unknown, path: string): boolean => {
  if (Array.isArray(spec)) return spec.some((item) => excluded(value, item, path));
  if (isObject(spec)) {
    const [operator, ...others] = Object.keys(spec);
    if (operator === undefined || others.length > 0)
      throw new InvalidEventPatternError(`${path}: anything-but takes one operator`);
    const operand = spec[operator];
    switch (operator) {
      case 'prefix':
      case 'suffix':
        return startsOrEnds(value, operand, path, operator);
      case 'equals-ignore-case': {
        const texts = Array.isArray(operand) ? operand : [operand];
        if (texts.some((t) => typeof t !== 'string'))
          throw new InvalidEventPatternError(`${path}: equals-ignore-case expects strings`);
        return (
          typeof value === 'string' && texts.some((t) => (t as string).toLowerCase() === value.toLowerCase())
        );
      }
      case 'wildcard':
        if (typeof operand !== 'string')
          throw new InvalidEventPatternError(`${path}: wildcard expects a string`);
        return typeof value === 'string' && wildcardRegExp(operand).test(value);
      default:
        throw new InvalidEventPatternError(`${path}: anything-but does not support "${operator}"`);
    }
  }
  if (typeof spec === 'string' || typeof spec === 'number') return value === spec;
  throw new InvalidEventPatternError(
    `${path}: anything-but expects a string, a number, a list or an operator`,
  );
};

/** One matcher of a leaf's array against one event value (a scalar, or an element of an event array). */
const matchesOne = (matcher: unknown, value: Json | undefined, path: string): boolean => {
  if (!isObject(matcher)) {
    if (matcher === null || ['string', 'number', 'boolean'].includes(typeof matcher))
      return value === matcher;
    throw new InvalidEventPatternError(`${path}: an array may hold only values and operator objects`);
  }
  const [operator, ...others] = Object.keys(matcher);
  if (operator === undefined || others.length > 0)
    throw new InvalidEventPatternError(`${path}: a matcher object holds exactly one operator`);
  const operand = matcher[operator];
  if (operator === 'exists') {
    if (typeof operand !== 'boolean')
      throw new InvalidEventPatternError(`${path}: exists expects true or false`);
    // Matched per field in matchesField; here the field is present.
    return operand;
  }
  if (value === undefined) return false;
  switch (operator) {
    case 'prefix':
    case 'suffix':
      return startsOrEnds(value, operand, path, operator);
    case 'equals-ignore-case':
      if (typeof operand !== 'string')
        throw new InvalidEventPatternError(`${path}: equals-ignore-case expects a string`);
      return typeof value === 'string' && value.toLowerCase() === operand.toLowerCase();
    case 'wildcard':
      if (typeof operand !== 'string')
        throw new InvalidEventPatternError(`${path}: wildcard expects a string`);
      return typeof value === 'string' && wildcardRegExp(operand).test(value);
    case 'anything-but':
      return !excluded(value, operand, path);
    case 'numeric':
      return inRange(value, operand, path);
    case 'cidr':
      if (typeof operand !== 'string') throw new InvalidEventPatternError(`${path}: cidr expects a string`);
      return inCidr(value, operand, path);
    default:
      throw new InvalidEventPatternError(`${path}: unknown operator "${operator}"`);
  }
};

/** A leaf: the field's value (each element, for an array) against the matchers (OR). */
const matchesField = (matchers: unknown[], value: Json | undefined, path: string): boolean => {
  if (matchers.length === 0) throw new InvalidEventPatternError(`${path}: an empty array matches nothing`);
  const present = value !== undefined && !isObject(value);
  return matchers.some((matcher) => {
    if (isObject(matcher) && 'exists' in matcher) {
      if (typeof matcher.exists !== 'boolean' || Object.keys(matcher).length !== 1)
        throw new InvalidEventPatternError(`${path}: exists expects true or false`);
      return matcher.exists === present && (matcher.exists || value === undefined);
    }
    if (Array.isArray(value)) return value.some((element) => matchesOne(matcher, element, path));
    return matchesOne(matcher, value, path);
  });
};

const matchesAt = (pattern: Pattern, event: Json | undefined, path: string): boolean => {
  // Arrays of objects in the event: the pattern matches when any element matches.
  if (Array.isArray(event)) return event.some((element) => matchesAt(pattern, element, path));
  const record = isObject(event) ? (event as Record<string, Json>) : undefined;
  return Object.entries(pattern).every(([field, expected]) => {
    const at = path ? `${path}.${field}` : field;
    if (field === '$or') {
      if (!Array.isArray(expected) || expected.length < 2 || !expected.every(isObject))
        throw new InvalidEventPatternError(`${at}: $or expects a list of at least two patterns`);
      return expected.some((alternative) => matchesAt(alternative, event, path));
    }
    const actual = record ? record[field] : undefined;
    if (Array.isArray(expected)) return matchesField(expected, actual, at);
    if (isObject(expected)) return matchesAt(expected, actual, at);
    throw new InvalidEventPatternError(`${at}: expected an array of values or a nested object`);
  });
};

/** Walks the whole pattern, so a malformed part throws even where matching would short-circuit. */
const validate = (pattern: Pattern, path: string): void => {
  for (const [field, expected] of Object.entries(pattern)) {
    const at = path ? `${path}.${field}` : field;
    if (field === '$or') {
      if (!Array.isArray(expected) || expected.length < 2 || !expected.every(isObject))
        throw new InvalidEventPatternError(`${at}: $or expects a list of at least two patterns`);
      for (const alternative of expected) validate(alternative, path);
    } else if (Array.isArray(expected)) {
      if (expected.length === 0) throw new InvalidEventPatternError(`${at}: an empty array matches nothing`);
      for (const matcher of expected) {
        if (isObject(matcher) && Array.isArray(matcher['anything-but']))
          for (const item of matcher['anything-but']) excluded('', item, at);
        matchesOne(matcher, '', at);
      }
    } else if (isObject(expected)) validate(expected, at);
    else throw new InvalidEventPatternError(`${at}: expected an array of values or a nested object`);
  }
};

/**
 * True when `event` matches the EventBridge `pattern`. Throws InvalidEventPatternException for a pattern
 * EventBridge would refuse (a leaf that is not an array, an unknown operator, a malformed operand).
 */
export const matchesEventPattern = (pattern: Record<string, unknown>, event: unknown): boolean => {
  if (!isObject(pattern)) throw new InvalidEventPatternError('the pattern must be a JSON object');
  validate(pattern, '');
  return matchesAt(pattern, event as Json, '');
};
