import type { SmokeTest } from '../domain/plan.ts';

/** How a smoke test ended. A test that could not run (no answer, an error, a timeout) did not pass. */
export interface SmokeTestResult {
  passed: boolean;
  reason: string;
}

/** What a smoke test is told: which release, and the URL the test route answers on. */
export interface SmokeTestInput {
  release: { id: string; service: string; version: string; digest: string };
  testUrl?: string;
}

/**
 * Runs one smoke test against the new version: a Lambda function the user names (answers
 * `{ passed, reason? }` as data), or an HTTP request from the pipeline. Never throws for a failing test:
 * failing is the answer. Throws only for a fault of Shipline itself (a bad request to AWS).
 */
export interface SmokeTester {
  run(test: SmokeTest, input: SmokeTestInput, timeoutSeconds: number): Promise<SmokeTestResult>;
}
