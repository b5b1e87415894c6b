import { describe, expect, it } from 'vitest';
import type { Wait } from '../../../lib/ports/wait-registry.ts';
import { abortRelease, approveRelease } from '../../../lib/use-cases/resume.ts';
import { FakeTaskTokens, InMemoryWaitRegistry } from '../fakes.ts';

const base = { releaseId: 'rel-1', service: 'checkout', environment: 'default' };
const pause: Wait = { ...base, kind: 'pause', key: 'rel-1', taskToken: 'tok-pause' };
const bake = (alarm: string): Wait => ({
  ...base,
  kind: 'bake',
  key: alarm,
  taskToken: 'tok-bake',
  data: { percent: 25, watchFrom: '2026-01-01T00:00:00.000Z' },
});

const setup = (...waits: Wait[]) => {
  const registry = new InMemoryWaitRegistry();
  for (const wait of waits) registry.put(wait);
  const tokens = new FakeTaskTokens();
  return { registry, tokens, ports: { waits: registry, tokens } };
};

describe('Use case: resume', () => {
  describe('Method: approveRelease', () => {
    it("resumes the release's pause with the approval the pause state keeps, and claims the wait", async () => {
      const { ports, tokens, registry } = setup(pause);
      const report = await approveRelease(ports, { releaseId: 'rel-1' });
      expect(tokens.succeeded).toEqual([
        { token: 'tok-pause', output: { resumed: true, decision: 'approved' } },
      ]);
      expect(report).toEqual({
        command: 'approve',
        releaseId: 'rel-1',
        status: 'done',
        waits: [{ kind: 'pause', key: 'rel-1', service: 'checkout', result: 'resumed' }],
        found: ['pause'],
      });
      expect(registry.entries.size).toBe(0);
    });

    it('resumes nothing but a pause: a baking release has nothing to approve', async () => {
      const { ports, tokens, registry } = setup(bake('checkout-5xx'));
      const report = await approveRelease(ports, { releaseId: 'rel-1' });
      expect(tokens.succeeded).toEqual([]);
      expect(report).toMatchObject({ status: 'nothing-to-resume', waits: [], found: ['bake'] });
      expect(registry.entries.size).toBe(1);
    });

    it('touches only the named service: another service gives nothing to resume', async () => {
      const { ports, tokens } = setup(pause);
      const report = await approveRelease(ports, { releaseId: 'rel-1', service: 'payments' });
      expect(tokens.succeeded).toEqual([]);
      expect(report).toMatchObject({ status: 'nothing-to-resume', found: [] });
    });

    it('reports a pause whose token is no longer valid as already ended, and clears its record', async () => {
      const { ports, tokens, registry } = setup(pause);
      await tokens.succeed('tok-pause', 'timed out meanwhile');
      const report = await approveRelease(ports, { releaseId: 'rel-1' });
      expect(report.waits).toEqual([
        { kind: 'pause', key: 'rel-1', service: 'checkout', result: 'already-ended' },
      ]);
      // Nothing was resumed: the CLI exits 4, not 0, so a script sees the approval did not take.
      expect(report.status).toBe('nothing-to-resume');
      expect(registry.entries.size).toBe(0);
    });
  });

  describe('Method: abortRelease', () => {
    it('fails every wait of the release once per token with ReleaseAborted and the reason, then claims them', async () => {
      const { ports, tokens, registry } = setup(bake('checkout-5xx'), bake('checkout-p99'));
      const report = await abortRelease(ports, { releaseId: 'rel-1', reason: 'wrong build' });
      expect(tokens.failed).toEqual([
        { token: 'tok-bake', error: 'ReleaseAborted', cause: 'aborted by a person: wrong build' },
      ]);
      expect(report.waits.map((wait) => [wait.key, wait.result])).toEqual([
        ['checkout-5xx', 'resumed'],
        ['checkout-p99', 'resumed'],
      ]);
      expect(registry.entries.size).toBe(0);
    });

    it('leaves a push queued as data (a pending push) queued: it has no task to fail, and is not dropped', async () => {
      const pending: Wait = {
        ...base,
        kind: 'lock-queue',
        key: 'default/checkout',
        taskToken: 'pending-push:rel-1:2026-01-01T00:00:00.000Z:1:r',
        data: { requestedAt: '2026-01-01T00:00:00Z', pendingInput: '{}' },
      };
      const { ports, tokens, registry } = setup(pending);
      const report = await abortRelease(ports, { releaseId: 'rel-1', reason: 'wrong build' });
      expect(tokens.failed).toEqual([]);
      expect(report).toMatchObject({ status: 'nothing-to-resume', waits: [], found: ['lock-queue'] });
      expect(registry.entries.size).toBe(1);
    });

    it('has nothing to resume when the release waits on nothing', async () => {
      const { ports, tokens } = setup();
      const report = await abortRelease(ports, { releaseId: 'rel-1', reason: 'wrong build' });
      expect(tokens.failed).toEqual([]);
      expect(report).toMatchObject({ status: 'nothing-to-resume', waits: [], found: [] });
    });

    it('refuses an empty reason before touching any wait', async () => {
      const { ports, tokens } = setup(pause);
      await expect(abortRelease(ports, { releaseId: 'rel-1', reason: '  ' })).rejects.toThrow(/reason/);
      expect(tokens.failed).toEqual([]);
    });
  });
});
