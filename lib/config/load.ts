import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import * as z from 'zod';
import { ConfigError } from '../errors.ts';
import { describeIssues } from './issues.ts';
import { type ShiplineConfig, shiplineConfigSchema } from './schema.ts';

export * from './issues.ts';
export * from './lookup.ts';

/**
 * Validation of `shipline.yml` for the CLI, the sandbox and packaging. An invalid file fails with one line
 * per problem, naming the path of the bad field.
 */

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

/** Loads and validates a `shipline.yml` (or JSON) file, once per process per path. */
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

/** JSON Schema of `shipline.yml`, for editors and CI validation. */
export const configJsonSchema = (): Record<string, unknown> =>
  z.toJSONSchema(shiplineConfigSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
