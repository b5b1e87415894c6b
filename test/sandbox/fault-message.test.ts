import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stopLocalDynamoDb } from '../../sandbox/local-dynamodb.ts';
import { defaultFaultMessage } from '../../sandbox/run/seed-world.ts';
import { loadScenario, REPOSITORY_ROOT, runScenario } from '../../sandbox/run-scenario.ts';

afterAll(stopLocalDynamoDb);

describe('Injected AWS errors say what they are', () => {
  it("gives throttling the service's own words, and any other error words naming it", () => {
    expect(defaultFaultMessage('ThrottlingException')).toBe('Rate exceeded');
    expect(defaultFaultMessage('TooManyRequestsException')).toBe('Rate exceeded');
    expect(defaultFaultMessage('ProvisionedThroughputExceededException')).toMatch(
      /^The level of configured provisioned throughput for the table was exceeded/,
    );
    expect(defaultFaultMessage('AccessDeniedException')).toBe(
      'AccessDeniedException: not authorized to perform this call (a fault the scenario injects)',
    );
    expect(defaultFaultMessage('ServiceUnavailable')).toBe(
      'ServiceUnavailable (a fault the scenario injects)',
    );
  });

  it('shows an injected access denial as a denial on the timeline, never as "Rate exceeded"', async () => {
    const { scenario, baseDir } = loadScenario(
      path.join(REPOSITORY_ROOT, 'examples', 'replaced-push-told-after-dead-letter.yml'),
    );
    const result = await runScenario(scenario, baseDir);
    const lines = result.timeline.map((entry) => entry.text).filter((text) => text.includes('AccessDenied'));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      expect(line).not.toContain('Rate exceeded');
    }
    expect(lines.some((line) => line.includes('not authorized to perform this call'))).toBe(true);
  });
});
