import type { Scenario } from '../scenario/schema.ts';
import type { ServiceResult } from './summarise.ts';

type ServiceExpectations = NonNullable<NonNullable<Scenario['expect']>['services']>;

/** Compares each service's end state with `expect.services`; each failure names the service and what differed. */
export const checkServiceExpectations = (
  expected: ServiceExpectations | undefined,
  services: Readonly<Record<string, ServiceResult>>,
): string[] => {
  const failures: string[] = [];
  for (const [name, expect] of Object.entries(expected ?? {})) {
    const result = services[name];
    if (!result) {
      failures.push(`services.${name}: the world holds no such service`);
      continue;
    }
    if (expect.outcome !== undefined && expect.outcome !== result.outcome)
      failures.push(
        `services.${name}.outcome: expected ${expect.outcome}, got ${result.outcome}${result.reason ? ` (${result.reason})` : ''}`,
      );
    if (expect.servingVersion !== undefined && expect.servingVersion !== result.servingVersion)
      failures.push(
        `services.${name}.servingVersion: expected ${expect.servingVersion}, got ${result.servingVersion ?? `none at 100% (${JSON.stringify(result.traffic)})`}`,
      );
    if (expect.notifications !== undefined) {
      const events = result.notifications.map((n) => String(n.message.event));
      if (JSON.stringify(events) !== JSON.stringify(expect.notifications))
        failures.push(
          `services.${name}.notifications: expected [${expect.notifications.join(', ')}], got [${events.join(', ')}]`,
        );
    }
  }
  return failures;
};
