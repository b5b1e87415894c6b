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

/**
 * Settings every client shares. Each adapter module builds its own client (no SDK import here), so a
 * function bundles, and loads, only the clients of the adapters it uses.
 */
export const clientBase = () => ({ region: environment.region() });
