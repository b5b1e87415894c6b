import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError, UnknownServiceError } from '../errors.ts';
import { type ServiceConfig, type ShiplineConfig, shiplineConfigSchema } from './schema.ts';

/** Renders a zod issue path as `services.checkout.strategy.steps[2]`. */
export const formatIssuePath = (path: readonly PropertyKey[]): string =>
  path.reduce<string>((text, key) => {
    if (typeof key === 'number') return `${text}[${key}]`;
    return text === '' ? String(key) : `${text}.${String(key)}`;
  }, '');

/** Turns zod issues into one line each: `<path>: <what was expected>`. */
export const describeIssues = (error: z.ZodError): string[] =>
  error.issues.map((issue) => `${formatIssuePath(issue.path) || '(root)'}: ${issue.message}`);

/** Validates an already-parsed config document. `source` names it in errors. */
export const parseConfig = (document: unknown, source = 'shipline.yml'): ShiplineConfig => {
  const result = shiplineConfigSchema.safeParse(document);
  if (!result.success) {
    const issues = describeIssues(result.error);
    throw new ConfigError(`${source} is invalid:\n  ${issues.join('\n  ')}`, issues);
  }
  return result.data;
};

/** Parses and validates YAML text. */
export const parseConfigText = (text: string, source = 'shipline.yml'): ShiplineConfig => {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new ConfigError(`${source} is not valid YAML: ${(error as Error).message}`, [], { cause: error });
  }
  return parseConfig(document, source);
};

const cache = new Map<string, ShiplineConfig>();

/**
 * Loads `shipline.yml` from a path once per process (handlers call it at every invocation,
 * warm invocations reuse the parsed result).
 */
export const loadConfigFile = (path: string): ShiplineConfig => {
  const cached = cache.get(path);
  if (cached) return cached;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read ${path}: ${(error as Error).message}`, [], { cause: error });
  }
  const config = parseConfigText(text, path);
  cache.set(path, config);
  return config;
};

/** Looks up a declared service, or throws `UnknownServiceError` naming the declared ones. */
export const serviceConfig = (config: ShiplineConfig, service: string): ServiceConfig => {
  const found = config.services[service];
  if (!found) throw new UnknownServiceError(service, Object.keys(config.services));
  return found;
};

/** Finds the service released by pushes to an ECR repository. */
export const serviceForRepository = (
  config: ShiplineConfig,
  repository: string,
): { name: string; service: ServiceConfig } | undefined => {
  for (const [name, service] of Object.entries(config.services)) {
    if (service.image.repository === repository) return { name, service };
  }
  return undefined;
};

/** JSON Schema of `shipline.yml`, for editors and CI validation. */
export const configJsonSchema = (): Record<string, unknown> =>
  z.toJSONSchema(shiplineConfigSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
