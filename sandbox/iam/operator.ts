import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { PolicyStatement } from './policies.ts';

/** Where a policy's placeholders point: the pipeline's region, account and stack. */
export interface OperatorScope {
  region: string;
  account: string;
  stack: string;
}

/** A statement as a person writes it: Action and Resource may be one string or a list. */
export interface WrittenStatement {
  Effect: 'Allow' | 'Deny';
  /** Exactly one of Action and NotAction, and of Resource and NotResource (the scenario schema checks it). */
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
  Sid?: string;
}

const list = (value: string | string[]): string[] => (Array.isArray(value) ? value : [value]);

/** Replaces `${Region}`, `${Account}` and `${Stack}` in a policy's resources. */
export const resolveStatements = (
  statements: readonly WrittenStatement[],
  scope: OperatorScope,
): PolicyStatement[] =>
  statements.map((statement) => {
    const resolve = (resources: string | string[]) =>
      list(resources).map((resource) =>
        resource.replace(/\$\{(Region|Account|Stack)\}/g, (_match, name: string) =>
          name === 'Region' ? scope.region : name === 'Account' ? scope.account : scope.stack,
        ),
      );
    return {
      Effect: statement.Effect,
      Action: statement.Action === undefined ? [] : list(statement.Action),
      Resource: statement.Resource === undefined ? [] : resolve(statement.Resource),
      ...(statement.NotAction !== undefined ? { NotAction: list(statement.NotAction) } : {}),
      ...(statement.NotResource !== undefined ? { NotResource: resolve(statement.NotResource) } : {}),
      ...(statement.Condition ? { Condition: statement.Condition } : {}),
    };
  });

/**
 * The least-privilege policy of a person or CI role running the CLI (iam/operator-policy.json, shown in the
 * README), resolved for one pipeline: what a scenario's operator holds unless it names a narrower one.
 */
export const operatorPolicy = (repositoryRoot: string, scope: OperatorScope): PolicyStatement[] => {
  const document = JSON.parse(
    readFileSync(path.join(repositoryRoot, 'iam/operator-policy.json'), 'utf8'),
  ) as {
    Statement: WrittenStatement[];
  };
  return resolveStatements(document.Statement, scope);
};
