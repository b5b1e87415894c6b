/**
 * What every command writes to and reads from, passed in rather than taken from `process`: the terminal
 * runs them on the process's streams and environment, the sandbox on a scenario's (virtual time included).
 */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  env: Readonly<Record<string, string | undefined>>;
  /** Waits between two polls (`deploy --wait`, `status --watch`); the sandbox waits in virtual time. */
  sleep(ms: number): Promise<void>;
  /** Whether a person reads the output on a terminal (`status --watch` then redraws in place). */
  isTTY?: boolean;
}

/** The process's own streams, environment and timers. */
export const processIo = (): CliIo => ({
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  isTTY: process.stdout.isTTY === true,
});

/** The CLI's exit codes: scripts and CI branch on them, so they are part of its contract. */
export const EXIT = {
  ok: 0,
  /** simulate: an expectation failed; deploy --wait: the release rolled back or failed. */
  failed: 1,
  /** A usage error, invalid input, or nothing to act on. */
  usage: 2,
  internal: 3,
  /** deploy --wait: the timeout passed and the release still runs. */
  timedOut: 4,
} as const;

/** Bad input a person can fix, or nothing to act on: exit 2 with the message only (no stack trace). */
export class CliUsageError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'CliUsageError';
  }
}

/** Writes one JSON document (`--json`). */
export const printJson = (io: CliIo, value: unknown): void => io.out(`${JSON.stringify(value, null, 2)}\n`);
