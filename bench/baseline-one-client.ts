import { ECSClient } from '@aws-sdk/client-ecs';

/**
 * Benchmark baseline: one SDK client built at module scope and nothing else, bundled like the functions.
 * Its cold import is the floor a Shipline function cannot go below on the measuring machine.
 */
export const client = new ECSClient({ region: process.env.AWS_REGION ?? 'us-east-1' });
