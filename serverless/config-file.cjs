'use strict';
// Which shipline.yml a deploy packages, and loading it (validated against the Shipline schema). The
// packaging plugin (writes .shipline/shipline.json) and the computed variables (IAM resources, topics)
// both load the config through here, so they always read the same file.
const { existsSync } = require('node:fs');
const path = require('node:path');
const tsx = require('tsx/cjs/api');

/** How a deployer names another config; repeated in error messages so the fix is obvious. */
const CONFIG_OPTION = '--param="config=<file>" or SHIPLINE_CONFIG=<file>';

/**
 * The config file to deploy. The `config` param (`--param="config=<file>"`, or `params:` in
 * serverless.yml; passed in as `option`) wins over the SHIPLINE_CONFIG environment variable; either is
 * resolved from the current working directory. With neither: `shipline.yml` in the service directory.
 */
const resolveConfigPath = ({ option, serviceDir }) => {
  if (option) return { file: path.resolve(process.cwd(), option), chosenBy: `--param="config=${option}"` };
  const fromEnv = process.env.SHIPLINE_CONFIG;
  if (fromEnv) return { file: path.resolve(process.cwd(), fromEnv), chosenBy: `SHIPLINE_CONFIG=${fromEnv}` };
  return { file: path.join(serviceDir, 'shipline.yml'), chosenBy: 'the default' };
};

/**
 * An error that reads as its message alone: osls prints the `stack` of a variable function's rejection,
 * and a deployer needs the message (which file, which field), not this module's frames.
 */
const packagingError = (message) => {
  const error = new Error(message);
  error.stack = message;
  return error;
};

/**
 * Loads and validates the config to deploy: `{ file, config }`. Throws an Error naming the file when it is
 * missing (and how it was chosen), or one line per invalid field.
 */
const loadConfig = ({ option, serviceDir }) => {
  const { file, chosenBy } = resolveConfigPath({ option, serviceDir });
  if (!existsSync(file))
    throw packagingError(
      `Shipline config ${file} does not exist (chosen by ${chosenBy}; set it with ${CONFIG_OPTION})`,
    );
  const { loadConfigFile } = tsx.require('../lib/config/load.ts', __filename);
  try {
    return { file, config: loadConfigFile(file) };
  } catch (error) {
    throw packagingError(error instanceof Error ? error.message : String(error));
  }
};

module.exports = { loadConfig, resolveConfigPath };
