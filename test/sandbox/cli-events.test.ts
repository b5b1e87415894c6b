import { describe, expect, it } from 'vitest';
import { type CliRun, checkCliExpectations, splitCommandLine } from '../../sandbox/run/cli.ts';

describe('Sandbox: a scenario cli command line', () => {
  it.each([
    ["promote checkout --reason 'looks good'", ['promote', 'checkout', '--reason', 'looks good']],
    [
      'shipline abort checkout --reason "p99 \\"up\\" again"',
      ['abort', 'checkout', '--reason', 'p99 "up" again'],
    ],
    ["rollback checkout --reason it\\'s\\ slow", ['rollback', 'checkout', '--reason', "it's slow"]],
    ["history  checkout   --limit 5 ''", ['history', 'checkout', '--limit', '5', '']],
    ['status --reason \'a "b" c\'', ['status', '--reason', 'a "b" c']],
  ])('splits %s as a shell would', (line, words) => {
    expect(splitCommandLine(line)).toEqual(words);
  });

  it('refuses an unclosed quote, naming it', () => {
    expect(() => splitCommandLine("promote checkout --reason 'looks good")).toThrow(
      "unclosed single quote in: promote checkout --reason 'looks good",
    );
  });
});

describe('Sandbox: expectations on cli commands', () => {
  const runs: CliRun[] = [
    { t: 720, command: 'promote checkout', exitCode: 0, stdout: 'ended the bake\n', stderr: '', endedT: 720 },
    {
      t: 900,
      command: 'resume checkout',
      exitCode: 2,
      stdout: '',
      stderr: 'shipline: nothing to resume\n',
      endedT: 900,
    },
  ];
  const seconds = (at: string | number) => (typeof at === 'number' ? at : Number.parseInt(at, 10) * 60);

  it('passes when the command named by at or by text exited and printed as expected', () => {
    expect(
      checkCliExpectations(
        [
          { at: '12m', exitCode: 0, stdoutContains: 'ended the bake' },
          { command: 'resume checkout', exitCode: 2, stderrContains: ['nothing to resume'] },
        ],
        runs,
        seconds,
      ),
    ).toEqual([]);
  });

  it('names the command and what differs', () => {
    expect(
      checkCliExpectations(
        [{ at: '12m', exitCode: 2, stdoutContains: 'promoted' }, { command: 'abort checkout' }],
        runs,
        seconds,
      ),
    ).toEqual([
      'cli at 12m: expected exit code 2, got 0 (stderr: empty)',
      'cli at 12m: stdout does not contain "promoted" (stdout: ended the bake)',
      'cli "abort checkout": no such command ran (ran: "promote checkout", "resume checkout")',
    ]);
  });
});
