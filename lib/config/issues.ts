import type * as z from 'zod';

/** Renders a zod issue path as `services.checkout.strategy.steps[2]`. */
export const formatIssuePath = (path: readonly PropertyKey[]): string =>
  path.reduce<string>((text, key) => {
    if (typeof key === 'number') return `${text}[${key}]`;
    return text === '' ? String(key) : `${text}.${String(key)}`;
  }, '');

/** Turns zod issues into one line each: `<path>: <what was expected>`. */
export const describeIssues = (
  error: z.ZodError | { issues: readonly { path: readonly PropertyKey[]; message: string }[] },
): string[] => error.issues.map((issue) => `${formatIssuePath(issue.path) || '(root)'}: ${issue.message}`);
