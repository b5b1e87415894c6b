import { LambdaClient } from '@aws-sdk/client-lambda';
import { describe, expect, it } from 'vitest';
import { type Fetch, LambdaHttpSmokeTester } from '../../../lib/adapters/smoke-tester.ts';

const input = {
  release: { id: 'checkout-1', service: 'checkout', version: 'v2', digest: 'sha256:x' },
  testUrl: 'https://test.shop.example.com/',
};
const http = { type: 'http' as const, path: '/health', expectStatus: 200 };

/** A fetch that answers `status`, recording the URLs it was asked for. */
const answering =
  (status: number, asked: string[]): Fetch =>
  async (url) => {
    asked.push(url);
    return { status };
  };

describe('Class: LambdaHttpSmokeTester', () => {
  describe('Method: run (HTTP check)', () => {
    it('passes when GET testUrl + path answers the expected status', async () => {
      const asked: string[] = [];
      const tester = new LambdaHttpSmokeTester(
        new LambdaClient({ region: 'us-east-1' }),
        answering(200, asked),
      );

      await expect(tester.run(http, input, 10)).resolves.toEqual({
        passed: true,
        reason: 'GET https://test.shop.example.com/health answered 200',
      });
      expect(asked).toEqual(['https://test.shop.example.com/health']);
    });

    it('fails on another status, naming both', async () => {
      const tester = new LambdaHttpSmokeTester(new LambdaClient({ region: 'us-east-1' }), answering(503, []));

      await expect(tester.run(http, input, 10)).resolves.toEqual({
        passed: false,
        reason: 'GET https://test.shop.example.com/health answered 503, expected 200',
      });
    });

    it('fails, saying so, when the request times out', async () => {
      const timedOut: Fetch = async () => {
        throw Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' });
      };
      const tester = new LambdaHttpSmokeTester(new LambdaClient({ region: 'us-east-1' }), timedOut);

      await expect(tester.run(http, input, 10)).resolves.toEqual({
        passed: false,
        reason: 'GET https://test.shop.example.com/health did not answer within 10s',
      });
    });

    it('fails without a test URL, naming the field', async () => {
      const tester = new LambdaHttpSmokeTester(new LambdaClient({ region: 'us-east-1' }), answering(200, []));

      await expect(tester.run(http, { release: input.release }, 10)).resolves.toEqual({
        passed: false,
        reason: 'an HTTP check of /health needs target.testUrl, and the service declares none',
      });
    });
  });
});
