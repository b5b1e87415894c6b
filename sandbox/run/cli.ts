import { sleepMs } from '../aws/timing.ts';
import type { SimulatedWorld } from '../aws/world.ts';
import { currentOperator } from '../iam/enforce.ts';

/** One CLI command a scenario ran, what it printed and how it exited (the `cli` list of a run's result). */
export interface CliRun {
  /** Virtual seconds after the start when the command was given. */
  t: number;
  command: string;
  exitCode: number;
  stdout: string;
  stderr: string;
  /** Virtual seconds after the start when it exited (`deploy --wait` follows a release for a while). */
  endedT: number;
}

/** What a scenario expects of one command it ran. */
export interface CliExpectation {
  /** The command given at this virtual time (as the event's `at`). */
  at?: string | number;
  /** The command whose text is exactly this (as the event's `cli`). */
  command?: string;
  exitCode?: number;
  stdoutContains?: string | string[];
  stderrContains?: string | string[];
}

/**
 * Splits a command line as a POSIX shell does for plain words and quotes: single quotes keep everything,
 * double quotes keep all but `\"` and `\\`, a backslash outside quotes escapes the next character. No
 * variables, globs or operators: a scenario's command is one command. Throws on an unclosed quote.
 */
export const splitCommandLine = (line: string): string[] => {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let index = 0; index < line.length; index += 1) {
    const char = line[index] as string;
    if (quote === "'") {
      if (char === "'") quote = undefined;
      else word += char;
    } else if (quote === '"') {
      if (char === '"') quote = undefined;
      else if (char === '\\' && (line[index + 1] === '"' || line[index + 1] === '\\')) {
        word += line[index + 1];
        index += 1;
      } else word += char;
    } else if (char === "'" || char === '"') {
      quote = char;
      inWord = true;
    } else if (char === '\\' && index + 1 < line.length) {
      word += line[index + 1];
      index += 1;
      inWord = true;
    } else if (/\s/.test(char)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += char;
      inWord = true;
    }
  }
  if (quote) throw new Error(`unclosed ${quote === "'" ? 'single' : 'double'} quote in: ${line}`);
  if (inWord) words.push(word);
  // `shipline promote checkout` and `promote checkout` are the same command.
  return words[0] === 'shipline' ? words.slice(1) : words;
};

/** The environment a person's terminal has in the simulated account: the pipeline's region and stack. */
export interface OperatorTerminal {
  region: string;
  stack: string;
  /**
   * The scenario's shipline.yml as a person wrote it (never the packaged JSON): `validate` and `plan` read it,
   * `status` without a service lists its services.
   */
  configPath: string;
}

/**
 * Runs one CLI command as the scenario's operator, with the same program as the terminal: its output goes
 * to the timeline as it is written (at the virtual time it is written), its polls wait in virtual time, and
 * its AWS calls are answered by the simulated account under the operator's policy.
 */
export const runOperatorCommand = async (
  world: SimulatedWorld,
  command: string,
  terminal: OperatorTerminal,
  startMs: number,
  service?: string,
): Promise<CliRun> => {
  const { runCli } = await import('../../cli/shipline.ts');
  const t = (world.clock.nowMillis - startMs) / 1000;
  const out: string[] = [];
  const err: string[] = [];
  world.record('event', `$ shipline ${command}`, undefined, service);
  const echo = (text: string, stream: 'stdout' | 'stderr') => {
    for (const line of text.split('\n').filter((each) => each.trim() !== ''))
      world.record('event', `${stream === 'stderr' ? '! ' : '  '}${line}`, undefined, service);
  };
  const exitCode = await currentOperator.run(true, () =>
    runCli(splitCommandLine(command), {
      out: (text) => {
        out.push(text);
        echo(text, 'stdout');
      },
      err: (text) => {
        err.push(text);
        echo(text, 'stderr');
      },
      env: {
        AWS_REGION: terminal.region,
        SHIPLINE_STACK: terminal.stack,
        SHIPLINE_CONFIG: terminal.configPath,
      },
      sleep: (ms) => sleepMs(world.clock, ms),
      isTTY: false,
    }),
  );
  world.record('event', `shipline ${command.split(/\s/)[0] ?? ''} exited ${exitCode}`, undefined, service);
  return {
    t,
    command,
    exitCode,
    stdout: out.join(''),
    stderr: err.join(''),
    endedT: (world.clock.nowMillis - startMs) / 1000,
  };
};

const texts = (value: string | string[] | undefined): string[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/**
 * Checks each expectation against the command it names (by `at`, else by its exact text): its exit code and
 * what its output contains. Returns one failure per mismatch, naming the command.
 */
export const checkCliExpectations = (
  expected: readonly CliExpectation[] | undefined,
  runs: readonly CliRun[],
  seconds: (duration: string | number) => number,
): string[] => {
  if (!expected) return [];
  const failures: string[] = [];
  for (const expectation of expected) {
    const at = expectation.at === undefined ? undefined : seconds(expectation.at);
    const run = runs.find(
      (candidate) =>
        (at === undefined || candidate.t === at) &&
        (expectation.command === undefined || candidate.command === expectation.command),
    );
    const which = `cli ${expectation.at !== undefined ? `at ${expectation.at}` : `"${expectation.command}"`}`;
    if (!run) {
      failures.push(
        `${which}: no such command ran (ran: ${runs.map((each) => `"${each.command}"`).join(', ') || 'none'})`,
      );
      continue;
    }
    if (expectation.exitCode !== undefined && run.exitCode !== expectation.exitCode)
      failures.push(
        `${which}: expected exit code ${expectation.exitCode}, got ${run.exitCode} (stderr: ${run.stderr.trim() || 'empty'})`,
      );
    for (const text of texts(expectation.stdoutContains))
      if (!run.stdout.includes(text))
        failures.push(
          `${which}: stdout does not contain "${text}" (stdout: ${run.stdout.trim() || 'empty'})`,
        );
    for (const text of texts(expectation.stderrContains))
      if (!run.stderr.includes(text))
        failures.push(
          `${which}: stderr does not contain "${text}" (stderr: ${run.stderr.trim() || 'empty'})`,
        );
  }
  return failures;
};
