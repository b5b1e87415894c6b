import type { ScenarioResult } from '../run-scenario.ts';
import { checkDetection } from './detection.ts';
import { isPipelineAlarmChange } from './pipeline-alarms.ts';
import type { Scenario } from './schema.ts';

type Expect = NonNullable<Scenario['expect']>;
type NotificationExpectation = NonNullable<Expect['notifications']>[number];

/** `actual` holds `expected`: equal scalars and arrays, and for objects every expected key (recursively). */
const holds = (actual: unknown, expected: unknown): boolean => {
  if (expected !== null && typeof expected === 'object' && !Array.isArray(expected)) {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false;
    return Object.entries(expected).every(([key, value]) =>
      holds((actual as Record<string, unknown>)[key], value),
    );
  }
  return JSON.stringify(actual) === JSON.stringify(expected);
};

const eventOf = (expected: NotificationExpectation): string =>
  typeof expected === 'string' ? expected : expected.event;

/** What differs between one notification and its expectation (empty when it matches). */
const notificationDiffers = (
  index: number,
  actual: ScenarioResult['notifications'][number],
  expected: NotificationExpectation,
): string[] => {
  if (typeof expected === 'string') return [];
  const failures: string[] = [];
  if (expected.subjectContains !== undefined && !actual.subject.includes(expected.subjectContains))
    failures.push(
      `notifications[${index}].subject: expected it to contain "${expected.subjectContains}", got "${actual.subject}"`,
    );
  for (const [field, value] of Object.entries(expected.fields ?? {})) {
    if (!holds(actual.message[field], value))
      failures.push(
        `notifications[${index}].${field}: expected ${JSON.stringify(value)}, got ${JSON.stringify(actual.message[field]) ?? 'nothing'}`,
      );
  }
  return failures;
};

/** Compares a run with what the scenario expects; each failure says what differed. */
export const checkExpectations = (
  expect: Expect,
  result: ScenarioResult,
): { passed: boolean; failures: string[] } => {
  const failures: string[] = [];
  if (expect.outcome !== undefined && expect.outcome !== result.outcome) {
    failures.push(
      `outcome: expected ${expect.outcome}, got ${result.outcome}${result.reason ? ` (${result.reason})` : ''}`,
    );
  }
  if (expect.servingVersion !== undefined && expect.servingVersion !== result.servingVersion) {
    failures.push(
      `servingVersion: expected ${expect.servingVersion}, got ${result.servingVersion ?? `none at 100% (${JSON.stringify(result.traffic)})`}`,
    );
  }
  if (expect.executions !== undefined && expect.executions !== result.executions.length) {
    failures.push(`executions: expected ${expect.executions}, got ${result.executions.length}`);
  }
  if (expect.executionNames !== undefined) {
    const names = result.executions.map((e) => e.name);
    if (JSON.stringify(names) !== JSON.stringify(expect.executionNames))
      failures.push(
        `executionNames: expected [${expect.executionNames.join(', ')}], got [${names.join(', ')}]`,
      );
  }
  if (expect.notifications !== undefined) {
    const expected = expect.notifications;
    const events = result.notifications.map((n) => String(n.message.event));
    if (JSON.stringify(events) !== JSON.stringify(expected.map(eventOf))) {
      failures.push(
        `notifications: expected [${expected.map(eventOf).join(', ')}], got [${events.join(', ')}]`,
      );
    } else {
      expected.forEach((entry, index) => {
        const actual = result.notifications[index];
        if (actual) failures.push(...notificationDiffers(index, actual, entry));
      });
    }
  }
  if (expect.deadLetters !== undefined) {
    const shown = (letters: ReadonlyArray<{ fn: string; detailType?: string }>) =>
      `[${letters.map((d) => `${d.fn}${d.detailType ? ` (${d.detailType})` : ''}`).join(', ')}]`;
    const matches =
      expect.deadLetters.length === result.deadLetters.length &&
      expect.deadLetters.every((wanted, index) => {
        const actual = result.deadLetters[index];
        return (
          actual !== undefined &&
          actual.fn === wanted.fn &&
          (wanted.detailType === undefined || actual.detailType === wanted.detailType) &&
          (wanted.errorContains === undefined || actual.error.includes(wanted.errorContains))
        );
      });
    if (!matches)
      failures.push(
        `deadLetters: expected ${shown(expect.deadLetters)}, got ${shown(result.deadLetters)}${result.deadLetters.length > 0 ? ` (errors: ${result.deadLetters.map((d) => d.error).join('; ')})` : ''}`,
      );
  }
  if (expect.reasonContains !== undefined && !(result.reason ?? '').includes(expect.reasonContains)) {
    failures.push(`reason: expected it to contain "${expect.reasonContains}", got "${result.reason ?? ''}"`);
  }
  if (expect.maxRollbackReactionSeconds !== undefined) {
    if (
      result.rollbackReactionSeconds === null ||
      result.rollbackReactionSeconds > expect.maxRollbackReactionSeconds
    ) {
      failures.push(
        `rollbackReactionSeconds: expected at most ${expect.maxRollbackReactionSeconds}, got ${result.rollbackReactionSeconds ?? 'none'}`,
      );
    }
  }
  if (
    expect.minRollbackReactionSeconds !== undefined &&
    (result.rollbackReactionSeconds === null ||
      result.rollbackReactionSeconds < expect.minRollbackReactionSeconds)
  ) {
    failures.push(
      `rollbackReactionSeconds: expected at least ${expect.minRollbackReactionSeconds}, got ${result.rollbackReactionSeconds ?? 'none'}`,
    );
  }
  if (expect.alarmChanges !== undefined) {
    // The world's alarms (the ones a scenario declares and may name): the pipeline's own alarms, deployed
    // with its stack (the executions-failed alarm after every rollback), are not among them.
    const changes = result.timeline
      .filter((e) => e.kind === 'alarm' && !isPipelineAlarmChange(e.text))
      .map((e) => e.text);
    if (JSON.stringify(changes) !== JSON.stringify(expect.alarmChanges))
      failures.push(
        `alarmChanges: expected [${expect.alarmChanges.join(', ')}], got [${changes.join(', ')}]`,
      );
  }
  if (
    expect.productionWeightChanges !== undefined &&
    expect.productionWeightChanges !== result.productionWeightChanges
  ) {
    failures.push(
      `productionWeightChanges: expected ${expect.productionWeightChanges}, got ${result.productionWeightChanges} (${
        result.timeline
          .filter((e) => e.kind === 'traffic' && /^\S+ \d+% \//.test(e.text))
          .map((e) => e.text)
          .join('; ') || 'none'
      })`,
    );
  }
  failures.push(...checkDetection(expect, result));
  return { passed: failures.length === 0, failures };
};
