import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { environment } from '../env.ts';

/** The part of an SDK v3 client a customizer may touch (its middleware stack). */
export interface CustomizableClient {
  middlewareStack: { add: (...args: never[]) => void };
}

/**
 * Called for every client the factory creates. The sandbox registers one that answers SDK commands
 * from its simulated account; in Lambda none is registered and clients talk to AWS.
 */
export type ClientCustomizer = (client: CustomizableClient, clientName: string) => void;

const customizers: ClientCustomizer[] = [];

/** Registers a customizer for clients created from now on. */
export const addClientCustomizer = (customizer: ClientCustomizer): void => {
  customizers.push(customizer);
};

export const customize = <C extends CustomizableClient>(client: C, clientName: string): C => {
  for (const customizer of customizers) customizer(client, clientName);
  return client;
};

/** Settings every client shares. */
export const clientBase = () => ({ region: environment.region() });

export const createEcsClient = (): ECSClient => customize(new ECSClient(clientBase()), 'ECS');
export const createElbv2Client = (): ElasticLoadBalancingV2Client =>
  customize(new ElasticLoadBalancingV2Client(clientBase()), 'ElasticLoadBalancingV2');
export const createCloudWatchClient = (): CloudWatchClient =>
  customize(new CloudWatchClient(clientBase()), 'CloudWatch');
export const createSnsClient = (): SNSClient => customize(new SNSClient(clientBase()), 'SNS');
export const createSfnClient = (): SFNClient => customize(new SFNClient(clientBase()), 'SFN');
