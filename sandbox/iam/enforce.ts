import { AsyncLocalStorage } from 'node:async_hooks';
import { runUnsafeSimulation } from '@cloud-copilot/iam-simulate';
import { SimulatedAwsError } from '../aws/errors.ts';
import type { PolicyStatement } from './policies.ts';
import { type IamCheck, iamChecksFor, type RequestScope } from './resources.ts';

/** Which function's code is running: set by LambdaRuntime.invoke around every handler invocation. */
export const currentFunction = new AsyncLocalStorage<string>();

/** Set while a person's CLI command runs (a scenario `cli:` event): its calls are the operator's. */
export const currentOperator = new AsyncLocalStorage<true>();

/** The role key the operator's policy is evaluated under (no function is named so). */
const OPERATOR = '@operator';

/** The scenario's operator: the principal the CLI runs as, and its identity policy. */
export interface OperatorPrincipal {
  arn: string;
  statements: PolicyStatement[];
}

/**
 * The error code each service answers a denied call with, as its SDK surfaces it (`error.name`):
 * JSON-protocol services say AccessDeniedException, the Query-protocol ELBv2 and CloudWatch AccessDenied,
 * SNS AuthorizationError (AuthorizationErrorException in SDK v3).
 */
const DENIED_NAME: Record<string, string> = {
  DynamoDB: 'AccessDeniedException',
  ECS: 'AccessDeniedException',
  SFN: 'AccessDeniedException',
  ElasticLoadBalancingV2: 'AccessDenied',
  CloudWatch: 'AccessDenied',
  SNS: 'AuthorizationErrorException',
  Lambda: 'AccessDeniedException',
  CloudFormation: 'AccessDenied',
  ECR: 'AccessDeniedException',
};

/**
 * An IAM action pattern (`ecs:Describe*`) as a regular expression: IAM matches action names case-insensitively,
 * `*` standing for any run of characters and `?` for one
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html).
 */
const actionPattern = (action: string): RegExp => {
  // Every world's roles name the same few actions: each pattern is compiled once per process (a RegExp
  // without the g flag keeps no state between tests).
  let pattern = actionPatterns.get(action);
  if (!pattern) {
    pattern = new RegExp(
      `^${action
        .split('')
        .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
        .join('')}$`,
      'i',
    );
    actionPatterns.set(action, pattern);
  }
  return pattern;
};
const actionPatterns = new Map<string, RegExp>();

/** A role's statement, indexed for the questions asked of it. */
interface IndexedStatement {
  statement: PolicyStatement;
  /** Its exact resource ARNs. */
  exact: Set<string>;
  /** Its resources with a wildcard (`*`, `?`) or a policy variable. */
  patterns: string[];
  actions: RegExp[];
  /** Its NotAction patterns: it names every action none of them matches (an operator's policy may say so). */
  notActions?: RegExp[];
  /** It names its resources by NotResource: it can apply to any resource, and is evaluated whole. */
  notResource: boolean;
  /** The statement with only its patterns for resources, as JSON: a decision's key holds it. */
  json: string;
  /** It names exact ARNs only, and has no condition or Not* element (see `allowed`). */
  exactOnly: boolean;
}

/**
 * Decisions shared by every world of the process, keyed by everything the evaluator is given: the
 * statements it evaluates (their JSON), the principal, the account, the action, the resource and the
 * context. The evaluator is a pure function of those, so a later world asking the same question of the
 * same statements gets the same answer without evaluating it again; a statement that differs in anything is
 * another key. Bounded: cleared when it grows past DECISIONS_LIMIT (a fleet of distinct services' ARNs).
 */
const sharedDecisions = new Map<string, boolean>();
const DECISIONS_LIMIT = 100_000;

/**
 * Authorizes every command a function sends against that function's role, with a real IAM evaluator.
 * Decisions are cached per (function, action, resource, context) in a world, and across worlds per
 * (statements evaluated, principal, action, resource, context).
 */
export class IamEnforcer {
  private readonly decisions = new Map<string, boolean>();
  private readonly roles: Map<string, PolicyStatement[]>;

  public constructor(
    roles: Map<string, PolicyStatement[]>,
    private readonly scope: RequestScope,
    /** The operator whose CLI commands the scenario runs (their calls are authorized against its policy). */
    private readonly operator?: OperatorPrincipal,
  ) {
    this.roles = new Map(roles);
    this.runTable = scope.tableName
      ? new RegExp(`:table/${scope.tableName.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')}(?=["/\u0000]|$)`, 'g')
      : undefined;
    if (operator) this.roles.set(OPERATOR, operator.statements);
  }

  /** Throws the service's access-denied error when the running function's role does not allow the command. */
  public authorize(service: string, commandName: string, input: Record<string, unknown>): void {
    // A function's own calls (the trigger the CLI invokes included) are its role's; a CLI command's, the
    // operator's. The scenario runner itself (seeding the world) is neither.
    const fn =
      currentFunction.getStore() ?? (currentOperator.getStore() && this.operator ? OPERATOR : undefined);
    if (fn === undefined) return;
    const command = commandName.replace(/Command$/, '');
    for (const check of iamChecksFor(service, command, input, this.scope)) {
      if (!this.allowed(fn, check)) {
        if (fn === OPERATOR && this.operator)
          throw new SimulatedAwsError(
            DENIED_NAME[service] ?? 'AccessDeniedException',
            `User: ${this.operator.arn} is not authorized to perform: ${check.action} on resource: ${check.resource} because no identity-based policy allows the ${check.action} action`,
            { fault: 'client', status: 400 },
          );
        const role = `shipline-sandbox-${fn}-${this.scope.region}-lambdaRole`;
        throw new SimulatedAwsError(
          DENIED_NAME[service] ?? 'AccessDeniedException',
          `User: arn:aws:sts::${this.scope.account}:assumed-role/${role}/shipline-sandbox-${fn} is not authorized to perform: ${check.action} on resource: ${check.resource} because no identity-based policy allows the ${check.action} action (function ${fn}: add it to its iamRoleStatements in serverless.yml)`,
          { fault: 'client', status: 400 },
        );
      }
    }
  }

  /** Per role: each statement's exact resource ARNs (a set) and its patterns, for `statementsFor`. */
  private readonly indexes = new Map<string, IndexedStatement[]>();

  /** Per role and action: the statements naming that action (matched once per world, not per resource). */
  private readonly byAction = new Map<string, IndexedStatement[]>();

  /** The role's statements that name `action` (an action pattern matching it), indexed. */
  private statementsNaming(fn: string, action: string): IndexedStatement[] {
    const byAction = `${fn}\u0000${action}`;
    const known = this.byAction.get(byAction);
    if (known) return known;
    let index = this.indexes.get(fn);
    if (!index) {
      const statements = this.roles.get(fn);
      if (!statements) throw new Error(`the sandbox has no IAM role for function "${fn}"`);
      index = statements.map((statement) => {
        const isPattern = (r: string) => /[*?$]/.test(r);
        const patterns = statement.Resource.filter(isPattern);
        return {
          statement,
          exact: new Set(statement.Resource.filter((r) => !isPattern(r))),
          patterns,
          actions: statement.Action.map(actionPattern),
          ...(statement.NotAction ? { notActions: statement.NotAction.map(actionPattern) } : {}),
          notResource: statement.NotResource !== undefined,
          json: JSON.stringify({ ...statement, Resource: patterns }),
          exactOnly:
            patterns.length === 0 &&
            Object.keys(statement).every((element) =>
              ['Sid', 'Effect', 'Action', 'Resource'].includes(element),
            ),
        };
      });
      this.indexes.set(fn, index);
    }
    // A statement none of whose actions is the requested one applies to nothing here, either way.
    const naming = index.filter(
      ({ actions, notActions }) =>
        actions.some((pattern) => pattern.test(action)) ||
        (notActions !== undefined && !notActions.some((pattern) => pattern.test(action))),
    );
    this.byAction.set(byAction, naming);
    return naming;
  }

  /**
   * The role's statements that can apply to `resource`, each with only the resources that can match it: an
   * exact ARN other than the requested one never matches, so dropping it changes no decision. A role
   * scoped to a thousand services' ARNs is evaluated against a handful, not all of them on every call.
   * `named`: the statement names `resource` exactly (its resources are then `resource` and its patterns).
   */
  private statementsFor(
    fn: string,
    resource: string,
    action: string,
  ): Array<{ indexed: IndexedStatement; named: boolean }> {
    const applicable: Array<{ indexed: IndexedStatement; named: boolean }> = [];
    for (const indexed of this.statementsNaming(fn, action)) {
      const named = indexed.exact.has(resource);
      if (named || indexed.patterns.length > 0 || indexed.notResource) applicable.push({ indexed, named });
    }
    return applicable;
  }

  /** The run's table ARN (`:table/NAME`, then the end of the ARN or a sub-resource) in a decision's key. */
  private readonly runTable: RegExp | undefined;

  /**
   * Whether the role allows the check. The decision shared across worlds is keyed by the evaluator's whole
   * input: the account, principal, action, resource, context and each statement evaluated (its JSON with
   * its patterns for resources, and whether it also names the requested resource). The run's table is
   * renamed to one name for every run where that cannot change the decision: every statement evaluated
   * names exact ARNs only (no `*` or `?` a renamed name could match differently) and none has a condition
   * (which could name the table) or a Not* element. Then the evaluator only compares the requested ARN
   * with the statements' ARNs, and a name renamed the same way on both sides compares the same.
   * Otherwise the key keeps the run's own name.
   */
  private allowed(fn: string, check: IamCheck): boolean {
    const key = `${fn}\u0000${check.action}\u0000${check.resource}\u0000${JSON.stringify(check.context ?? {})}`;
    const cached = this.decisions.get(key);
    if (cached !== undefined) return cached;
    const principal =
      fn === OPERATOR && this.operator
        ? this.operator.arn
        : `arn:aws:sts::${this.scope.account}:assumed-role/shipline-sandbox-${fn}/shipline-sandbox-${fn}`;
    const applicable = this.statementsFor(fn, check.resource, check.action);
    let described = `${this.scope.account}\u0000${principal}\u0000${key}`;
    let exactOnly = true;
    for (const { indexed, named } of applicable) {
      described += `\u0000${named ? 'named' : 'patterns'}\u0000${indexed.json}`;
      exactOnly &&= indexed.exactOnly;
    }
    const sharedKey =
      exactOnly && this.runTable ? described.replace(this.runTable, ':table/\u0001run-table') : described;
    const shared = sharedDecisions.get(sharedKey);
    if (shared !== undefined) {
      this.decisions.set(key, shared);
      return shared;
    }
    const statements = applicable.map(({ indexed, named }) => {
      // A NotAction or NotResource statement is evaluated as written, without its empty Action or Resource.
      const { Action, Resource, ...rest } = indexed.statement;
      return {
        ...rest,
        ...(rest.NotAction ? {} : { Action }),
        ...(rest.NotResource
          ? {}
          : { Resource: named ? [check.resource, ...indexed.patterns] : indexed.patterns }),
      };
    });
    // The unsafe (unvalidated) entry point: iam-data lists no resource type for states:SendTaskSuccess,
    // yet AWS authorizes it against the issuing state machine, which the validated one refuses.
    const result = runUnsafeSimulation(
      {
        identityPolicies: [{ name: `${fn}-role`, policy: { Version: '2012-10-17', Statement: statements } }],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy: undefined,
        request: {
          action: check.action,
          principal,
          resource: { accountId: this.scope.account, resource: check.resource },
          contextVariables: check.context ?? {},
        },
      } as never,
      {},
    ) as unknown;
    const decision = result === 'Allowed';
    this.decisions.set(key, decision);
    if (sharedDecisions.size >= DECISIONS_LIMIT) sharedDecisions.clear();
    sharedDecisions.set(sharedKey, decision);
    return decision;
  }
}
