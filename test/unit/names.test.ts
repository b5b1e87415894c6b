import { describe, expect, it } from 'vitest';
import {
  EXECUTION_NAME_MAX,
  executionNameFor,
  isImageDigest,
  manualExecutionNameFor,
  parseImageUri,
  versionLabel,
} from '../../lib/domain/names.ts';
import { digestOf, REGISTRY, V2_DIGEST } from './fixtures.ts';

const NAME_PATTERN = /^[a-z0-9-]+$/;
const hex = V2_DIGEST.slice('sha256:'.length);

describe('Function: executionNameFor', () => {
  it('is the service and the first 32 hex of the digest', () => {
    expect(executionNameFor('checkout', V2_DIGEST)).toBe(`checkout-${hex.slice(0, 32)}`);
  });

  it('is deterministic', () => {
    expect(executionNameFor('checkout', V2_DIGEST)).toBe(executionNameFor('checkout', V2_DIGEST));
  });

  it('differs per digest and per service', () => {
    const names = new Set([
      executionNameFor('checkout', V2_DIGEST),
      executionNameFor('checkout', digestOf('other')),
      executionNameFor('payments', V2_DIGEST),
    ]);

    expect(names.size).toBe(3);
  });

  it('never contains a colon or anything outside [a-z0-9-]', () => {
    const name = executionNameFor('Checkout_API.v2:eu', V2_DIGEST);

    expect(name).not.toContain(':');
    expect(name).toMatch(NAME_PATTERN);
    expect(name).toBe(`checkout-api-v2-eu-${hex.slice(0, 32)}`);
  });

  it('truncates a long service name so the whole name fits in 80 characters', () => {
    const service = 'a'.repeat(120);

    const name = executionNameFor(service, V2_DIGEST);

    expect(name.length).toBeLessThanOrEqual(EXECUTION_NAME_MAX);
    expect(name).toBe(`${'a'.repeat(47)}-${hex.slice(0, 32)}`);
    expect(name).toMatch(NAME_PATTERN);
  });

  it('is at most 80 characters for the longest service name the config allows', () => {
    const name = executionNameFor(`a${'-'.repeat(46)}`, V2_DIGEST);

    expect(name).toHaveLength(80);
  });
});

describe('Function: manualExecutionNameFor', () => {
  it('is deterministic per request id, distinct from the push name, and at most 80 characters', () => {
    const first = manualExecutionNameFor('checkout', V2_DIGEST, 'req-1');

    expect(first).toBe(manualExecutionNameFor('checkout', V2_DIGEST, 'req-1'));
    expect(first).not.toBe(manualExecutionNameFor('checkout', V2_DIGEST, 'req-2'));
    expect(first).not.toBe(executionNameFor('checkout', V2_DIGEST));
    expect(first).toMatch(/^checkout-[a-f0-9]{32}-[a-f0-9]{8}$/);
  });

  it('stays within 80 characters for a long service name', () => {
    const name = manualExecutionNameFor('s'.repeat(80), V2_DIGEST, 'req-1');

    expect(name.length).toBe(EXECUTION_NAME_MAX);
    expect(name).toMatch(NAME_PATTERN);
  });
});

describe('Function: isImageDigest', () => {
  it('accepts sha256:<64 lowercase hex> only', () => {
    expect(isImageDigest(V2_DIGEST)).toBe(true);
    expect(isImageDigest(V2_DIGEST.toUpperCase())).toBe(false);
    expect(isImageDigest(V2_DIGEST.slice(0, -1))).toBe(false);
    expect(isImageDigest(hex)).toBe(false);
  });
});

describe('Function: versionLabel', () => {
  it('prefers the tag', () => {
    expect(versionLabel({ tag: 'v2', digest: V2_DIGEST })).toBe('v2');
  });

  it('falls back to the short digest', () => {
    expect(versionLabel({ digest: V2_DIGEST })).toBe(`sha256:${hex.slice(0, 12)}`);
  });

  it('takes the digest from a pinned URI', () => {
    expect(versionLabel({ uri: `${REGISTRY}/checkout@${V2_DIGEST}` })).toBe(`sha256:${hex.slice(0, 12)}`);
  });

  it('falls back to the URI, then to "unknown"', () => {
    expect(versionLabel({ uri: `${REGISTRY}/checkout` })).toBe(`${REGISTRY}/checkout`);
    expect(versionLabel({})).toBe('unknown');
  });
});

describe('Function: parseImageUri', () => {
  it('splits a digest reference', () => {
    expect(parseImageUri(`${REGISTRY}/checkout@${V2_DIGEST}`)).toEqual({
      repositoryUri: `${REGISTRY}/checkout`,
      digest: V2_DIGEST,
    });
  });

  it('splits a tag reference', () => {
    expect(parseImageUri(`${REGISTRY}/team/checkout:v1`)).toEqual({
      repositoryUri: `${REGISTRY}/team/checkout`,
      tag: 'v1',
    });
  });

  it('does not mistake a registry port for a tag', () => {
    expect(parseImageUri('localhost:5000/checkout')).toEqual({ repositoryUri: 'localhost:5000/checkout' });
    expect(parseImageUri('localhost:5000/checkout:v3')).toEqual({
      repositoryUri: 'localhost:5000/checkout',
      tag: 'v3',
    });
  });

  it('returns a bare repository as is', () => {
    expect(parseImageUri('checkout')).toEqual({ repositoryUri: 'checkout' });
  });
});
