import { SimulatedAwsError } from './errors.ts';
import type { AwsServiceContext } from './services.ts';

/** A stack as DescribeStacks describes it: the pipeline's, with the outputs its template declares. */
export interface SimulatedStack {
  name: string;
  outputs: Record<string, string>;
}

/** The one stack id the sandbox gives every stack (IAM authorizes DescribeStacks on `stack/<name>/<id>`). */
export const SANDBOX_STACK_ID = '00000000-0000-4000-8000-000000000000';

/**
 * CloudFormation for the operator's CLI: DescribeStacks of the pipeline's stack, whose outputs name its
 * table, state machine and trigger function. A stack it does not know is a ValidationError ("Stack with id
 * NAME does not exist"), as the DescribeStacks API reference documents it.
 */
export class SimulatedCloudFormation {
  public readonly stacks = new Map<string, SimulatedStack>();

  public constructor(private readonly world: AwsServiceContext) {}

  public putStack(stack: SimulatedStack): void {
    this.stacks.set(stack.name, stack);
  }

  public arnOf(name: string): string {
    return `arn:aws:cloudformation:${this.world.region}:${this.world.account}:stack/${name}/${SANDBOX_STACK_ID}`;
  }

  private describe(stack: SimulatedStack) {
    return {
      StackId: this.arnOf(stack.name),
      StackName: stack.name,
      CreationTime: new Date(0),
      StackStatus: 'UPDATE_COMPLETE',
      Outputs: Object.entries(stack.outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
    };
  }

  public handle(command: string, input: Record<string, unknown>): unknown {
    if (command !== 'DescribeStacks') return undefined;
    if (input.StackName === undefined)
      return { Stacks: [...this.stacks.values()].map((s) => this.describe(s)) };
    // A stack is named by its name or its ARN (stack id).
    const named = String(input.StackName);
    const name = named.startsWith('arn:') ? (named.split('/')[1] ?? '') : named;
    const stack = this.stacks.get(name);
    if (!stack) throw new SimulatedAwsError('ValidationError', `Stack with id ${named} does not exist`);
    return { Stacks: [this.describe(stack)] };
  }
}
