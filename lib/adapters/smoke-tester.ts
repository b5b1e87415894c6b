import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { SmokeTest } from '../domain/plan.ts';
import type { SmokeTester, SmokeTestInput, SmokeTestResult } from '../ports/smoke-tester.ts';
import { clientBase, customize } from './aws-clients.ts';

/** `fetch` as the HTTP check uses it (injectable: the sandbox answers for the simulated test route). */
export type Fetch = (
  url: string,
  init: { method: 'GET'; signal: AbortSignal },
) => Promise<{ status: number }>;

const isTimeout = (error: unknown): boolean =>
  error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');

const describeError = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

/** What the user's function answered, read as `{ passed: boolean, reason?: string }`. */
const readAnswer = (functionName: string, payload: Uint8Array | undefined): SmokeTestResult => {
  const text = payload ? new TextDecoder().decode(payload) : '';
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    return { passed: false, reason: `${functionName} answered ${text.slice(0, 200) || 'nothing'}, not JSON` };
  }
  const { passed, reason } = (answer ?? {}) as { passed?: unknown; reason?: unknown };
  if (typeof passed !== 'boolean') {
    return {
      passed: false,
      reason: `${functionName} answered ${text.slice(0, 200)}, not { "passed": true | false }`,
    };
  }
  const why = typeof reason === 'string' && reason !== '' ? reason : passed ? 'passed' : 'failed';
  return { passed, reason: `${functionName}: ${why}` };
};

/** The error message a function that threw returns in its payload (`{ errorType, errorMessage }`). */
const functionErrorOf = (payload: Uint8Array | undefined): string => {
  if (!payload) return '';
  try {
    const parsed = JSON.parse(new TextDecoder().decode(payload)) as { errorMessage?: unknown };
    return typeof parsed.errorMessage === 'string' ? parsed.errorMessage : '';
  } catch {
    return '';
  }
};

/** Smoke tests through Lambda Invoke (the user's function) and `fetch` (an HTTP check of the test route). */
export class LambdaHttpSmokeTester implements SmokeTester {
  public constructor(
    private readonly lambda: LambdaClient,
    private readonly fetchUrl: Fetch = (url, init) => fetch(url, init),
  ) {}

  public async run(test: SmokeTest, input: SmokeTestInput, timeoutSeconds: number): Promise<SmokeTestResult> {
    return test.type === 'lambda'
      ? this.invoke(test.functionName, input, timeoutSeconds)
      : this.request(test.path, test.expectStatus, input, timeoutSeconds);
  }

  /**
   * RequestResponse Invoke. A function error (FunctionError set: it threw, or timed out on Lambda's side)
   * and a call that takes longer than the check's timeout are failed checks, said so.
   */
  private async invoke(
    functionName: string,
    input: SmokeTestInput,
    timeoutSeconds: number,
  ): Promise<SmokeTestResult> {
    try {
      const response = await this.lambda.send(
        new InvokeCommand({
          FunctionName: functionName,
          InvocationType: 'RequestResponse',
          Payload: new TextEncoder().encode(JSON.stringify(input)),
        }),
        { abortSignal: AbortSignal.timeout(timeoutSeconds * 1000) },
      );
      if (response.FunctionError) {
        const message = functionErrorOf(response.Payload);
        return {
          passed: false,
          reason: `${functionName} failed with ${response.FunctionError}${message ? `: ${message}` : ''}`,
        };
      }
      return readAnswer(functionName, response.Payload);
    } catch (error) {
      if (isTimeout(error))
        return { passed: false, reason: `${functionName} did not answer within ${timeoutSeconds}s` };
      throw error;
    }
  }

  /** GET testUrl + path from the pipeline; the status must be the expected one. */
  private async request(
    path: string,
    expectStatus: number,
    input: SmokeTestInput,
    timeoutSeconds: number,
  ): Promise<SmokeTestResult> {
    if (!input.testUrl) {
      return {
        passed: false,
        reason: `an HTTP check of ${path} needs target.testUrl, and the service declares none`,
      };
    }
    const url = `${input.testUrl.replace(/\/+$/, '')}${path.startsWith('/') ? path : `/${path}`}`;
    try {
      const { status } = await this.fetchUrl(url, {
        method: 'GET',
        signal: AbortSignal.timeout(timeoutSeconds * 1000),
      });
      return status === expectStatus
        ? { passed: true, reason: `GET ${url} answered ${status}` }
        : { passed: false, reason: `GET ${url} answered ${status}, expected ${expectStatus}` };
    } catch (error) {
      if (isTimeout(error))
        return { passed: false, reason: `GET ${url} did not answer within ${timeoutSeconds}s` };
      return { passed: false, reason: `GET ${url} failed: ${describeError(error)}` };
    }
  }
}

/** The smoke tester on a new Lambda client. */
export const createLambdaHttpSmokeTester = (): LambdaHttpSmokeTester =>
  new LambdaHttpSmokeTester(customize(new LambdaClient(clientBase()), 'Lambda'));
