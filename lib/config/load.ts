import { readFileSync } from 'node:fs';
import { type Document, isNode, isScalar, LineCounter, parseDocument } from 'yaml';
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

const validate = (
  document: unknown,
  source: string,
  locate?: (path: readonly PropertyKey[]) => string | undefined,
): ShiplineConfig => {
  const result = shiplineConfigSchema.safeParse(document);
  if (!result.success) {
    const issues = describeIssues(result.error, locate);
    throw new ConfigError(`${source} is invalid:\n  ${issues.join('\n  ')}`, issues);
  }
  return result.data;
};

/** Validates an already-parsed config document. `source` names it in errors; issues name paths only. */
export const parseConfig = (document: unknown, source = 'shipline.yml'): ShiplineConfig =>
  validate(document, source);

/**
 * Where a field sits in the YAML source, `source:line:col`: the node at the path, or else its nearest
 * ancestor that exists (a missing field is reported where its parent is).
 */
export const locator =
  (document: Document, lines: LineCounter, source: string) =>
  (path: readonly PropertyKey[]): string | undefined => {
    for (let length = path.length; length >= 0; length -= 1) {
      const node = document.getIn(path.slice(0, length), true);
      if (isNode(node) && node.range) {
        const { line, col } = lines.linePos(node.range[0]);
        return `${source}:${line}:${col}`;
      }
    }
    return undefined;
  };

/**
 * How far a YAML file's aliases may expand (yaml's maxAliasCount: the uses of one anchor, each weighted by
 * the aliases inside it). yaml's default of 100 refuses a fleet of a hundred services sharing one
 * `&service` anchor; a thousand still refuses an alias bomb ("billion laughs") at its first levels.
 */
export const YAML_MAX_ALIAS_COUNT = 1000;

/** Why yaml refused to resolve a document, in the words a person reading the error needs. */
export const yamlAliasMessage = (error: unknown): string => {
  const message = (error as Error).message;
  return message.startsWith('Excessive alias count')
    ? `its aliases would expand beyond ${YAML_MAX_ALIAS_COUNT} uses of an anchor (each weighted by the aliases inside it), which the reader refuses as a resource exhaustion risk`
    : message;
};

/** Parses and validates YAML text; each issue names the line and column of the field as well as its path. */
export const parseConfigText = (text: string, source = 'shipline.yml'): ShiplineConfig => {
  const lines = new LineCounter();
  // Merge keys (`<<: *defaults`) as YAML 1.1 and most tools read them, as a scenario's are: a fleet's
  // services share a strategy or target fields, and without them `<<` would be a key the schema refuses.
  const document = parseDocument(text, { lineCounter: lines, merge: true, uniqueKeys: true });
  const [first] = document.errors;
  if (first) {
    throw new ConfigError(`${source} is not valid YAML: ${first.message}`, [], { cause: first });
  }
  // `toJS` defines keys as own properties, so a `__proto__` or `constructor` key stays a key. It refuses
  // aliases that would expand a small file into a huge document: bad input too.
  let value: unknown;
  try {
    value = document.toJS({ maxAliasCount: YAML_MAX_ALIAS_COUNT });
  } catch (error) {
    throw new ConfigError(`${source} is not valid YAML: ${yamlAliasMessage(error)}`, [], { cause: error });
  }
  // An empty file (whitespace, comments or a bare `---` only) is no config at all, not a config of the
  // wrong type. A document that says `null` or `~` holds a value, null: the schema names its type.
  const contents = document.contents;
  if (contents === null || (isScalar(contents) && contents.source === '' && contents.tag === undefined))
    throw new ConfigError(
      `${source} is empty: a config is a mapping with at least \`services\` (see shipline.yml)`,
      [],
    );
  return validate(value, source, locator(document, lines, source));
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
