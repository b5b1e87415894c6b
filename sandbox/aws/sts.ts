import type { AwsServiceContext } from './services.ts';

/**
 * STS for the operator's CLI: GetCallerIdentity answers who the scenario's operator is (the CLI records
 * that principal as who acted). It needs no permission on AWS (STS API reference), nor here.
 */
export class SimulatedSts {
  /** The operator's principal, as `world.operator.arn` names it. */
  public callerArn: string;

  public constructor(private readonly world: AwsServiceContext) {
    this.callerArn = `arn:aws:sts::${world.account}:assumed-role/shipline-operator/sandbox-operator`;
  }

  public handle(command: string): unknown {
    if (command !== 'GetCallerIdentity') return undefined;
    return {
      UserId: 'AROASANDBOXOPERATOR:sandbox-operator',
      Account: this.world.account,
      Arn: this.callerArn,
    };
  }
}
