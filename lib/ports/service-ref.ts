/**
 * The environment every service belongs to until environments are declared in the config. Keys carry the
 * environment already, so adding environments later adds key values, not a new key layout.
 */
export const DEFAULT_ENVIRONMENT = 'default';

/** A service in an environment: what a lock, a service state and a release history belong to. */
export interface ServiceRef {
  environment: string;
  service: string;
}

/** The service `service` in the default environment (the only one until environments exist). */
export const serviceRef = (service: string, environment: string = DEFAULT_ENVIRONMENT): ServiceRef => ({
  environment,
  service,
});
