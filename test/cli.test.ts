import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { configJsonSchema } from '../lib/config/load.ts';
import { scenarioSchema } from '../sandbox/scenario/schema.ts';
import { ANSI, root, run, runInProcess, tempDir } from './cli-support.ts';

describe('CLI: shipline', () => {
  it("simulate runs a scenario's cli events through the program it runs in, and prints them in the timeline", async () => {
    const { code, stdout } = await runInProcess([
      'simulate',
      '--scenario',
      'examples/cli-nothing-to-act-on.yml',
    ]);
    expect(code).toBe(0);
    expect(stdout).toContain('+00:05:00  event    $ shipline resume checkout');
    expect(stdout).toContain('+00:05:00  event    shipline resume exited 2');
    expect(stdout).toContain('Expectations:    all met');
  });

  // The real process: nothing but the document reaches its stdout, nothing its stderr (a stray log line
  // would break every script that parses the output), which a run in the test's process could not see.
  it('simulate --json prints one JSON document and exits 0 when expectations hold', async () => {
    const { code, stdout, stderr } = await run([
      'simulate',
      '--scenario',
      'examples/malformed-event.yml',
      '--json',
    ]);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    const result = JSON.parse(stdout) as Record<string, unknown>;
    expect(result).toMatchObject({
      outcome: 'rejected',
      servingVersion: 'v1',
      executions: [],
      expectations: { passed: true, failures: [] },
    });
    for (const key of [
      'service',
      'fromVersion',
      'toVersion',
      'timeline',
      'notifications',
      'stateTransitions',
      'rollbackReactionSeconds',
    ]) {
      expect(result).toHaveProperty(key);
    }
  });

  // The issue's promise: the same seed gives the same run, byte for byte. The wall time a run took is the
  // machine's, not the run's: it is in the text summary, never in the JSON document a script compares.
  it('simulate --json with the same --seed prints the same document, byte for byte (jitter, faults, retries)', async () => {
    const args = ['simulate', '--scenario', 'examples/rollback-retried-for-minutes.yml', '--json'];
    const first = await runInProcess([...args, '--seed', '11']);
    const second = await runInProcess([...args, '--seed', '11']);
    const other = await runInProcess([...args, '--seed', '12']);
    expect(first.code).toBe(0);
    expect(second.stdout).toBe(first.stdout);
    expect(first.stdout).not.toContain('wallMs');
    // Another seed draws other jitter: the retries of the rollback wait other delays.
    const retries = (stdout: string) =>
      (JSON.parse(stdout) as { timeline: Array<{ kind: string; text: string }> }).timeline
        .filter((entry) => entry.kind === 'retry')
        .map((entry) => entry.text);
    expect(retries(other.stdout)).not.toEqual(retries(first.stdout));
  }, 120_000);

  it('simulate runs a scenario whose operator runs shipline commands (the CLI imported again) and exits', async () => {
    const { code, stdout } = await runInProcess([
      'simulate',
      '--scenario',
      'examples/dora-release-history.yml',
      '--json',
    ]);
    expect(code).toBe(0);
    const result = JSON.parse(stdout) as {
      cli: Array<{ command: string; exitCode: number; stdout: string }>;
    };
    expect(result.cli.map((each) => [each.command, each.exitCode])).toEqual([
      ['dora checkout', 2],
      ['dora checkout --since 1d', 0],
    ]);
    expect(result.cli[1]?.stdout).toContain('Change fail rate                33.3% (1 of 3)');
  }, 120_000);

  it("simulate colours its output as the run's environment and terminal say, not the process it runs in", async () => {
    const scenario = ['simulate', '--scenario', 'examples/malformed-event.yml'];
    const forced = await runInProcess(scenario, { FORCE_COLOR: '1' });
    expect(forced.code).toBe(0);
    expect(forced.stdout).toMatch(ANSI);
    for (const plain of [
      await runInProcess(scenario),
      await runInProcess(scenario, { FORCE_COLOR: '1', NO_COLOR: '1' }),
      await runInProcess([...scenario, '--no-color'], { FORCE_COLOR: '1' }),
    ]) {
      expect(plain.code).toBe(0);
      expect(plain.stdout).toContain('Expectations:    all met');
      expect(plain.stdout).not.toMatch(ANSI);
    }
  });

  it('simulate exits 1 and names the expectation that failed', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'wrong.yml');
    writeFileSync(
      file,
      readFileSync(path.join(root, 'examples/malformed-event.yml'), 'utf8')
        .replace('config: ../shipline.yml', `config: ${path.join(root, 'shipline.yml')}`)
        .replace('outcome: rejected', 'outcome: promoted'),
    );
    const { code, stdout } = await runInProcess(['simulate', '--scenario', file]);
    expect(code).toBe(1);
    expect(stdout).toContain('outcome: expected promoted, got rejected');
  });

  it('simulate exits 2 with the path of the bad field when the scenario is invalid', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'invalid.yml');
    writeFileSync(
      file,
      'name: broken\nworld: { serving: v1, desiredCount: zero }\nversions: {}\ntrigger: { push: { version: v2 } }\n',
    );
    const { code, stderr } = await runInProcess(['simulate', '--scenario', file]);
    expect(code).toBe(2);
    expect(stderr).toContain('world.desiredCount');
  });

  it('simulate prints nothing but the error for a scenario naming what does not exist, and runs nothing', async () => {
    const file = path.join(tempDir(), 'unknown-service.yml');
    writeFileSync(
      file,
      readFileSync(path.join(root, 'examples/push-of-serving-version.yml'), 'utf8')
        .replace('config: ../shipline.yml', `config: ${path.join(root, 'shipline.yml')}`)
        .replace('push: { version: v1, tag: v1-retagged }', 'push: { version: v1, service: payments }'),
    );
    expect(await runInProcess(['simulate', '--scenario', file])).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'shipline: trigger.push.service: service "payments" is not in the world (describe it under world.services.payments)\n',
    });
  });

  // Nine levels of ten aliases: a billion-node document from a few hundred bytes.
  it('simulate and validate refuse a YAML file whose aliases would expand it beyond reason, exit 2, no stack trace', async () => {
    const file = path.join(tempDir(), 'aliases.yml');
    const levels = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i += 1)
      levels.push(
        `a${i}: &a${i} [${Array(10)
          .fill(`*a${i - 1}`)
          .join(', ')}]`,
      );
    writeFileSync(file, `${levels.join('\n')}\nname: aliases\n`);
    expect(await runInProcess(['simulate', '--scenario', file])).toEqual({
      code: 2,
      stdout: '',
      stderr: `shipline: scenario ${file} is not valid YAML: its aliases would expand beyond 1000 uses of an anchor (each weighted by the aliases inside it), which the reader refuses as a resource exhaustion risk\n`,
    });
    expect(await runInProcess(['validate', '--config', file])).toEqual({
      code: 2,
      stdout: '',
      stderr: `shipline: ${file} is not valid YAML: its aliases would expand beyond 1000 uses of an anchor (each weighted by the aliases inside it), which the reader refuses as a resource exhaustion risk\n`,
    });
  });

  it('validate accepts the example shipline.yml and rejects a broken one naming the field', async () => {
    expect((await run(['validate'])).stdout).toContain(
      'shipline.yml is valid: checkout (canary: 5% -> 25% -> 100%)',
    );
    const dir = tempDir();
    const file = path.join(dir, 'shipline.yml');
    writeFileSync(
      file,
      readFileSync(path.join(root, 'shipline.yml'), 'utf8').replace(
        'steps: [5, 25, 100]',
        'steps: [5, 25, 90]',
      ),
    );
    const { code, stderr } = await run(['validate', '--config', file]);
    expect(code).toBe(2);
    expect(stderr).toContain(`${file}:30:14 services.checkout.strategy.steps: the last step must be 100`);
  });

  it("plan prints each service's strategy, target and numbered steps, as text or JSON", async () => {
    const text = await run(['plan']);
    expect(text.code).toBe(0);
    expect(text.stdout).toBe(
      [
        'checkout: canary on ecs-alb (blue and green slots behind an ALB listener rule; the new version goes to the idle slot)',
        '   1. Deploy the new version to the new slot',
        '   2. Wait until the new slot is ready (at most 20m)',
        '   3. Shift 5% to the new slot',
        '   4. Bake 10m watching 2 alarms',
        '   5. Shift 25% to the new slot',
        '   6. Bake 10m watching 2 alarms',
        '   7. Shift 100% to the new slot',
        '   8. Bake 10m watching 2 alarms',
        '   9. Promote the new slot, watch the 15m rollback window, scale the old slot down after 15m',
        '  bakes 30m in all; a bake without alarm data rolls back',
        '',
      ].join('\n'),
    );
    const json = await run(['plan', '--service', 'checkout', '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      config: 'shipline.yml',
      services: [
        {
          name: 'checkout',
          strategy: 'canary',
          target: 'ecs-alb',
          inconclusive: 'fail',
          plan: { strategy: 'canary', totalBakeSeconds: 1800, steps: expect.arrayContaining([]) },
        },
      ],
    });
    expect(JSON.parse(json.stdout).services[0].plan.steps.map((step: { kind: string }) => step.kind)).toEqual(
      ['deploy', 'await-ready', 'shift', 'bake', 'shift', 'bake', 'shift', 'bake', 'retire'],
    );
  });

  it('plan exits 2 with the config issues of an invalid config, or naming an undeclared service', async () => {
    const file = path.join(tempDir(), 'shipline.yml');
    writeFileSync(
      file,
      readFileSync(path.join(root, 'shipline.yml'), 'utf8').replace(
        /strategy:\n(.*\n)*/,
        'strategy:\n      type: linear\n      stepPercent: 10\n      interval: soon\n',
      ),
    );
    const invalid = await run(['plan', '--config', file]);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain(
      'services.checkout.strategy.interval: expected a duration in whole seconds such as 30s, 10m or 1h30m, got "soon"',
    );
    const unknown = await run(['plan', '--service', 'payments']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe(
      'shipline: service "payments" is not declared in shipline.yml (declared: checkout)\n',
    );
  });

  it('validate checks the file SHIPLINE_CONFIG names, the one a deploy packages', async () => {
    const file = path.join(tempDir(), 'my-shipline.yml');
    writeFileSync(
      file,
      readFileSync(path.join(root, 'shipline.yml'), 'utf8').replaceAll('checkout', 'payments'),
    );
    const { code, stdout } = await run(['validate'], { SHIPLINE_CONFIG: file });
    expect(code).toBe(0);
    expect(stdout).toContain(`${file} is valid: payments (canary: 5% -> 25% -> 100%)`);
  });

  // The command's own environment (its io), never the process's: a scenario's operator runs validate and
  // plan in the simulated terminal, whose SHIPLINE_CONFIG is the scenario's config, not the test runner's.
  it("validate and plan read SHIPLINE_CONFIG from the command's environment, as the account commands do", async () => {
    const file = path.join(tempDir(), 'payments.yml');
    writeFileSync(
      file,
      readFileSync(path.join(root, 'shipline.yml'), 'utf8').replaceAll('checkout', 'payments'),
    );
    expect(process.env.SHIPLINE_CONFIG).toBeUndefined();
    const validated = await runInProcess(['validate'], { SHIPLINE_CONFIG: file });
    expect(validated).toEqual({
      code: 0,
      stdout: `${file} is valid: payments (canary: 5% -> 25% -> 100%)\n`,
      stderr: '',
    });
    const planned = await runInProcess(['plan', '--json'], { SHIPLINE_CONFIG: file });
    expect(planned.code).toBe(0);
    expect(JSON.parse(planned.stdout)).toMatchObject({ config: file, services: [{ name: 'payments' }] });
    // --config still wins over the environment.
    const named = await runInProcess(['validate', '--config', 'shipline.yml'], { SHIPLINE_CONFIG: file });
    expect(named.stdout).toContain('shipline.yml is valid: checkout');
  });

  it('the committed JSON Schemas match the config and scenario schemas', () => {
    const committed = (file: string) =>
      JSON.parse(readFileSync(path.join(root, 'schema', file), 'utf8')) as unknown;
    expect(committed('shipline.schema.json')).toEqual(configJsonSchema());
    expect(committed('scenario.schema.json')).toEqual(
      z.toJSONSchema(scenarioSchema, { io: 'input', unrepresentable: 'any' }),
    );
  });
});
