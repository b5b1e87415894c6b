import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { ManualDeployRequest } from '../events/deploy-request.ts';
import type { QueuedPushes, WithdrawRequest, WithdrawResult } from '../ports/queued-pushes.ts';
import type { ReleaseStarter, ReleaseStartResult } from '../ports/release-starter.ts';

/** The trigger function refused or failed the request: its error type and message, as Lambda returned them. */
export class TriggerFunctionError extends Error {
  public constructor(
    public readonly errorType: string,
    message: string,
  ) {
    super(message);
    this.name = 'TriggerFunctionError';
  }
}

const text = (payload: Uint8Array | undefined): string =>
  payload === undefined ? '' : new TextDecoder().decode(payload);

/**
 * Starts a release by invoking the pipeline's trigger function synchronously with a manual deploy request:
 * the same code path as a push (the same execution name per digest, so asking twice starts one release).
 * Withdraws a queued push the same way (the trigger has the config and the topics the withdrawal tells).
 */
export class LambdaReleaseStarter implements ReleaseStarter, QueuedPushes {
  public constructor(
    private readonly client: LambdaClient,
    private readonly functionName: () => Promise<string>,
  ) {}

  public async start(request: ManualDeployRequest): Promise<ReleaseStartResult> {
    const { functionName, body, answer } = await this.invoke(request);
    if (answer.status === 'ignored') return { status: 'ignored', reason: String(answer.reason ?? '') };
    const { executionName: releaseId, executionArn } = answer;
    if (typeof releaseId === 'string' && typeof executionArn === 'string') {
      if (answer.status === 'started' || answer.status === 'duplicate')
        return { status: answer.status, releaseId, executionArn };
      // A push queued behind the running release, or superseded at once by a newer one (the trigger says whom).
      if (answer.status === 'queued' && typeof answer.behind === 'string')
        return { status: 'queued', releaseId, executionArn, behind: answer.behind };
      if (answer.status === 'superseded' && typeof answer.by === 'string')
        return { status: 'superseded', releaseId, executionArn, by: answer.by };
    }
    throw new TriggerFunctionError('InvalidResponse', `${functionName} answered ${body.slice(0, 200)}`);
  }

  /** Withdraws a queued push through the trigger function, which has the config and the topics it tells. */
  public async withdraw(request: WithdrawRequest): Promise<WithdrawResult> {
    const { functionName, body, answer } = await this.invoke({ withdraw: request });
    const { status, releaseId } = answer;
    if (typeof releaseId === 'string') {
      if (status === 'started') return { status, releaseId };
      if (status === 'not-queued' && typeof answer.why === 'string')
        return { status, releaseId, why: answer.why };
      if (
        status === 'withdrawn' &&
        typeof answer.toVersion === 'string' &&
        typeof answer.reason === 'string' &&
        typeof answer.told === 'boolean'
      )
        return {
          status,
          releaseId,
          toVersion: answer.toVersion,
          reason: answer.reason,
          told: answer.told,
          ...(typeof answer.behind === 'string' ? { behind: answer.behind } : {}),
          ...(answer.recorded === false ? { recorded: false as const } : {}),
          ...(typeof answer.toldError === 'string' ? { toldError: answer.toldError } : {}),
        };
    }
    throw new TriggerFunctionError('InvalidResponse', `${functionName} answered ${body.slice(0, 200)}`);
  }

  /** Invokes the trigger synchronously; its error (a refused request, a fault) is thrown as it said it. */
  private async invoke(
    payload: unknown,
  ): Promise<{ functionName: string; body: string; answer: Record<string, unknown> }> {
    const functionName = await this.functionName();
    const response = await this.client.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: 'RequestResponse',
        Payload: new TextEncoder().encode(JSON.stringify(payload)),
      }),
    );
    const body = text(response.Payload);
    let answer: Record<string, unknown> = {};
    try {
      answer = body === '' ? {} : (JSON.parse(body) as Record<string, unknown>);
    } catch {
      throw new TriggerFunctionError(
        'InvalidResponse',
        `${functionName} answered with no JSON: ${body.slice(0, 200)}`,
      );
    }
    if (response.FunctionError)
      throw new TriggerFunctionError(
        String(answer.errorType ?? response.FunctionError),
        String(answer.errorMessage ?? body),
      );
    return { functionName, body, answer };
  }
}
