import type * as z from 'zod';

/** Renders a zod issue path as `services.checkout.strategy.steps[2]`. */
export const formatIssuePath = (path: readonly PropertyKey[]): string =>
  path.reduce<string>((text, key) => {
    if (typeof key === 'number') return `${text}[${key}]`;
    return text === '' ? String(key) : `${text}.${String(key)}`;
  }, '');

/** An issue reduced to what the messages need. */
export type PathIssue = { path: readonly PropertyKey[]; message: string };

/**
 * Keeps one issue per field, so one mistake gives one message: a field that failed several checks (or a
 * union whose every branch failed) keeps its first issue, and an issue on a field whose child already has
 * one is dropped, because the child's is the more specific (a cross-field check on the parent ran on a
 * value the child's issue already rejects: `steps must increase: 0 follows 5` after `percent: 0`).
 */
export const dedupeIssues = <T extends PathIssue>(issues: readonly T[]): T[] => {
  const key = (path: readonly PropertyKey[]) => JSON.stringify(path.map(String));
  const seen = new Set<string>();
  const unique = issues.filter((issue) => {
    const k = key(issue.path);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  return unique.filter(
    (issue) =>
      !unique.some(
        (other) =>
          other !== issue &&
          other.path.length > issue.path.length &&
          issue.path.every((part, index) => String(part) === String(other.path[index])),
      ),
  );
};

type UnionIssue = PathIssue & {
  code?: string;
  errors?: readonly (readonly (PathIssue & { code?: string })[])[];
};

/**
 * Replaces a failed union by the issues of the one branch whose type matched the value (a `{ percent: x }`
 * step is an object, so the object branch says what is wrong inside it) or, among several such branches,
 * of the one with the fewest issues; keeps the union's own message when no branch, or no single one, wins.
 */
const expandUnions = (issues: readonly PathIssue[]): PathIssue[] =>
  issues.flatMap((issue) => {
    const { code, errors } = issue as UnionIssue;
    if (code !== 'invalid_union' || !errors) return [issue];
    const matching = errors.filter(
      (branch) =>
        branch.length > 0 &&
        !branch.some((inner) => inner.code === 'invalid_type' && inner.path.length === 0),
    );
    // Several branches took the value's type (objects told apart by their keys): the one branch with the
    // fewest issues is the one the author meant, e.g. `{ push: ... }` lacking only `at`.
    const fewest = Math.min(...matching.map((branch) => branch.length));
    const closest = matching.filter((branch) => branch.length === fewest);
    const [only] = closest;
    if (closest.length !== 1 || !only) return [issue];
    return expandUnions(only.map((inner) => ({ ...inner, path: [...issue.path, ...inner.path] })));
  });

/**
 * Turns zod issues into one line each: `<path>: <what was expected>`, or `<where> <path>: ...` when
 * `locate` finds the field in the source (a YAML file gives `shipline.yml:12:7`).
 */
export const describeIssues = (
  error: z.ZodError | { issues: readonly PathIssue[] },
  locate?: (path: readonly PropertyKey[]) => string | undefined,
): string[] =>
  dedupeIssues(expandUnions(error.issues as readonly PathIssue[])).map((issue) => {
    const where = locate?.(issue.path);
    const line = `${formatIssuePath(issue.path) || '(root)'}: ${issue.message}`;
    return where ? `${where} ${line}` : line;
  });
