import * as z from 'zod';

/**
 * A manual release request (`shipline deploy`, or a direct invoke of the trigger function):
 * the same execution input an ECR push produces.
 */
export const manualDeployRequestSchema = z
  .object({
    source: z.literal('manual').default('manual'),
    service: z.string().min(1),
    image: z
      .object({
        digest: z.string().regex(/^sha256:[a-f0-9]{64}$/, 'expected sha256:<64 hex>'),
        tag: z.string().min(1).optional(),
        uri: z.string().min(1).optional(),
      })
      .strict(),
    requestedBy: z.string().min(1).optional(),
    /** Set to release a digest again (a new execution name is derived from it). */
    requestId: z.string().min(1).optional(),
  })
  .strict();

export type ManualDeployRequest = z.output<typeof manualDeployRequestSchema>;
