import { AsyncLocalStorage } from 'node:async_hooks';
import { runUnsafeSimulation } from '@cloud-copilot/iam-simulate';
import { SimulatedAwsError } from '../aws/errors.ts';
import type { PolicyStatement } from './policies.ts';
import { type IamCheck, iamChecksFor, type RequestScope } from './resources.ts';

/** Which function's code is running: set by LambdaRuntime.invoke around every handler invocation. */
export const currentFunction = new AsyncLocalStorage<string>();

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
};

/**
 * Decisions by role (its statements, interned as a number) and request, shared by every world of the
 * process: a decision depends on nothing else, and each run of a scenario asks the same questions again.
 */
const decisions = new Map<string, boolean>();
const roleIds = new Map<string, number>();

/**
 * Authorizes every command a function sends against that function's role, with a real IAM evaluator.
 * Decisions are cached per (role statements, action, resource, context).
 */
export class IamEnforcer {
  /** Each function's role, as its interned id in `roleIds`. */
  private readonly roleIdOf = new Map<string, number>();
  public constructor(
    private readonly roles: Map<string, PolicyStatement[]>,
    private readonly scope: RequestScope,
  ) {}

  /** Throws the service's access-denied error when the running function's role does not allow the command. */
  public authorize(service: string, commandName: string, input: Record<string, unknown>): void {
    const fn = currentFunction.getStore();
    if (fn === undefined) return; // the scenario runner itself (seeding the world) is not a function
    const command = commandName.replace(/Command$/, '');
    for (const check of iamChecksFor(service, command, input, this.scope)) {
      if (!this.allowed(fn, check)) {
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
  private readonly indexes = new Map<
    string,
    Array<{ statement: PolicyStatement; exact: Set<string>; patterns: string[] }>
  >();

  /**
   * The role's statements that can apply to `resource`, each with only the resources that can match it: an
   * exact ARN other than the requested one never matches, so dropping it changes no decision. A role
   * scoped to a thousand services' ARNs is evaluated against a handful, not all of them on every call.
   */
  private statementsFor(fn: string, resource: string): PolicyStatement[] {
    let index = this.indexes.get(fn);
    if (!index) {
      const statements = this.roles.get(fn);
      if (!statements) throw new Error(`the sandbox has no IAM role for function "${fn}"`);
      index = statements.map((statement) => {
        const isPattern = (r: string) => /[*?$]/.test(r);
        return {
          statement,
          exact: new Set(statement.Resource.filter((r) => !isPattern(r))),
          patterns: statement.Resource.filter(isPattern),
        };
      });
      this.indexes.set(fn, index);
    }
    return index.flatMap(({ statement, exact, patterns }) => {
      const resources = [...(exact.has(resource) ? [resource] : []), ...patterns];
      return resources.length > 0 ? [{ ...statement, Resource: resources }] : [];
    });
  }

  private roleId(fn: string): number {
    let id = this.roleIdOf.get(fn);
    if (id === undefined) {
      const role = JSON.stringify([fn, this.scope, this.roles.get(fn) ?? null]);
      id = roleIds.get(role) ?? roleIds.size;
      roleIds.set(role, id);
      this.roleIdOf.set(fn, id);
    }
    return id;
  }

  private allowed(fn: string, check: IamCheck): boolean {
    const key = `${this.roleId(fn)}\u0000${check.action}\u0000${check.resource}\u0000${JSON.stringify(check.context ?? {})}`;
    const cached = decisions.get(key);
    if (cached !== undefined) return cached;
    const statements = this.statementsFor(fn, check.resource);
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
          principal: `arn:aws:sts::${this.scope.account}:assumed-role/shipline-sandbox-${fn}/shipline-sandbox-${fn}`,
          resource: { accountId: this.scope.account, resource: check.resource },
          contextVariables: check.context ?? {},
        },
      } as never,
      {},
    ) as unknown;
    const decision = result === 'Allowed';
    decisions.set(key, decision);
    return decision;
  }
}
