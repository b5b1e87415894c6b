import { describe, expect, it } from 'vitest';
import { InvalidInputError, isTransientAwsError } from '../../lib/errors.ts';

const sdkError = (name: string, fault: 'client' | 'server', status: number) =>
  Object.assign(new Error(name), { name, $fault: fault, $metadata: { httpStatusCode: status } });

describe('Function: isTransientAwsError', () => {
  it('treats throttling and AWS-side faults as worth retrying', () => {
    expect(isTransientAwsError(sdkError('ThrottlingException', 'client', 400))).toBe(true);
    expect(isTransientAwsError(sdkError('ProvisionedThroughputExceededException', 'client', 400))).toBe(true);
    expect(isTransientAwsError(sdkError('InternalServerError', 'server', 500))).toBe(true);
    expect(isTransientAwsError(sdkError('SomethingNew', 'server', 503))).toBe(true);
    expect(isTransientAwsError(sdkError('TooManyRequests', 'client', 429))).toBe(true);
  });

  it('leaves real failures alone: access denied, missing resources, bad input, plain errors', () => {
    expect(isTransientAwsError(sdkError('AccessDeniedException', 'client', 403))).toBe(false);
    expect(isTransientAwsError(sdkError('ServiceNotFoundException', 'client', 400))).toBe(false);
    expect(isTransientAwsError(new InvalidInputError('bad event'))).toBe(false);
    expect(isTransientAwsError(new Error('boom'))).toBe(false);
    expect(isTransientAwsError('ThrottlingException')).toBe(false);
  });
});
