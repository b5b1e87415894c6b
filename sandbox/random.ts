/**
 * The seed a run uses when none is given: runs are deterministic by default, and the seed is printed so a
 * run can be repeated or varied with `--seed`.
 */
export const DEFAULT_SEED = 1;

/**
 * The one source of randomness of a sandbox run (retry jitter, task tokens, request and event ids), so
 * the same seed gives the same timeline byte for byte. mulberry32 (Tommy Ettinger's 32-bit generator,
 * public domain): small, fast, and good enough for jitter; this is not a cryptographic source.
 */
export class SeededRandom {
  private state: number;

  /** @param seed any integer; it is reduced to 32 bits. */
  public constructor(public readonly seed: number = DEFAULT_SEED) {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
    this.state = seed >>> 0;
  }

  /** A number in [0, 1), like Math.random. */
  public next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  /** An integer in [0, max], as AWS's "random number between 0 and the computed backoff". */
  public upTo(max: number): number {
    return Math.floor(this.next() * (Math.floor(max) + 1));
  }

  /** A version-4 UUID drawn from this source (request ids, event ids, task tokens). */
  public uuid(): string {
    const bytes = Array.from({ length: 16 }, () => Math.floor(this.next() * 256));
    bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
    bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
    const hex = bytes.map((b) => b.toString(16).padStart(2, '0')).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
}
