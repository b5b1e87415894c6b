import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as z from 'zod';
import { configJsonSchema, loadConfigFile } from '../lib/config/load.ts';
import { ConfigError } from '../lib/errors.ts';

const USAGE = `shipline: progressive delivery for AWS

Usage:
  shipline simulate --scenario FILE [--json]   run a scenario in the local sandbox (no AWS account)
  shipline validate [--config FILE]            validate shipline.yml (default ./shipline.yml)
  shipline schema [--out DIR]                  write the JSON Schemas of shipline.yml and scenario files

simulate exits 0 when the run finished and its expectations held, 1 when an expectation failed,
2 when the scenario file is invalid.`;

const fail = (message: string, code: number): never => {
  process.stderr.write(`shipline: ${message}\n`);
  process.exit(code);
};

const simulate = async (args: string[]): Promise<number> => {
  const { values } = parseArgs({
    args,
    options: { scenario: { type: 'string', short: 's' }, json: { type: 'boolean', default: false } },
  });
  if (!values.scenario) return fail(`simulate needs --scenario FILE\n\n${USAGE}`, 2);
  const { ScenarioError, loadScenario, runScenario } = await import('../sandbox/run-scenario.ts');
  const { formatEntry, formatSummary } = await import('../sandbox/print.ts');
  const { stopLocalDynamoDb } = await import('../sandbox/local-dynamodb.ts');
  try {
    const { scenario, baseDir } = loadScenario(values.scenario);
    const start = new Date(scenario.world.start).getTime();
    if (!values.json)
      process.stdout.write(
        `Scenario: ${scenario.name}\n${scenario.description ? `${scenario.description.trim()}\n` : ''}\n`,
      );
    const result = await runScenario(scenario, baseDir, {
      onEntry: values.json
        ? undefined
        : (entry, label) => process.stdout.write(`${formatEntry(entry, start, label)}\n`),
    });
    process.stdout.write(values.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatSummary(result)}\n`);
    return result.expectations && !result.expectations.passed ? 1 : 0;
  } catch (error) {
    if (error instanceof ScenarioError) return fail(error.message, 2);
    throw error;
  } finally {
    await stopLocalDynamoDb();
  }
};

const validate = (args: string[]): number => {
  const { values } = parseArgs({
    args,
    options: { config: { type: 'string', short: 'c', default: 'shipline.yml' } },
  });
  try {
    const config = loadConfigFile(values.config as string);
    const services = Object.entries(config.services).map(
      ([name, s]) =>
        `${name} (${s.strategy.type}: ${s.strategy.steps.map((x) => (typeof x === 'number' ? x : x.percent)).join('% -> ')}%)`,
    );
    process.stdout.write(`${values.config} is valid: ${services.join(', ')}\n`);
    return 0;
  } catch (error) {
    if (error instanceof ConfigError) return fail(error.message, 2);
    throw error;
  }
};

const schema = async (args: string[]): Promise<number> => {
  const { values } = parseArgs({ args, options: { out: { type: 'string', default: 'schema' } } });
  const { scenarioSchema } = await import('../sandbox/scenario/schema.ts');
  const out = values.out as string;
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, 'shipline.schema.json'), `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
  writeFileSync(
    path.join(out, 'scenario.schema.json'),
    `${JSON.stringify(z.toJSONSchema(scenarioSchema, { io: 'input', unrepresentable: 'any' }), null, 2)}\n`,
  );
  process.stdout.write(`wrote ${out}/shipline.schema.json and ${out}/scenario.schema.json\n`);
  return 0;
};

const main = async (): Promise<number> => {
  const [command, ...rest] = process.argv.slice(2);
  switch (command) {
    case 'simulate':
      return simulate(rest);
    case 'validate':
      return validate(rest);
    case 'schema':
      return schema(rest);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    default:
      return fail(`unknown command "${command}"\n\n${USAGE}`, 2);
  }
};

process.exitCode = await main();
