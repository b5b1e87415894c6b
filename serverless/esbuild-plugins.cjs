const { readFileSync } = require('node:fs');

/**
 * esbuild plugins the functions are bundled with: serverless-esbuild loads this file
 * (`custom.esbuild.plugins` in serverless.yml) and bench/bundles.ts builds with the same list.
 */

/**
 * Every AWS SDK client imports its whole package.json (scripts, dependencies, descriptions: about 2 KB
 * minified) for one field, `version`, which goes into the user agent. Only `name` and `version` are
 * bundled; what the client reads is unchanged.
 */
const sdkPackageVersion = {
  name: 'shipline-sdk-package-version',
  setup(build) {
    build.onLoad({ filter: /[\\/]node_modules[\\/]@aws-sdk[\\/][^\\/]+[\\/]package\.json$/ }, (args) => {
      const { name, version } = JSON.parse(readFileSync(args.path, 'utf8'));
      return { contents: JSON.stringify({ name, version }), loader: 'json' };
    });
  },
};

/**
 * The SDK's HTTP protocols load event-stream support with a dynamic `import('@smithy/core/event-streams')`
 * only for an operation with an event-stream member; esbuild inlines it (about 13 KB) into every bundle.
 * No operation Shipline calls has an event stream (the Lambda client has one, InvokeWithResponseStream, so
 * its config resolver is kept as a pass-through: Invoke never reads the marshaller), so the import
 * resolves to a module that says so, should a future operation need it.
 */
const noEventStreams = {
  name: 'shipline-no-event-streams',
  setup(build) {
    build.onResolve({ filter: /^@smithy\/core\/event-streams$/ }, () => ({
      path: 'event-streams',
      namespace: 'shipline-no-event-streams',
    }));
    build.onLoad({ filter: /.*/, namespace: 'shipline-no-event-streams' }, () => ({
      contents: `const unsupported = () => {
  throw new Error('Shipline functions are bundled without SDK event-stream support (serverless/esbuild-plugins.cjs): an operation with an event stream needs it back');
};
export class EventStreamSerde { constructor() { unsupported(); } }
export const eventStreamSerdeProvider = unsupported;
export const resolveEventStreamSerdeConfig = (config) => config;`,
      loader: 'js',
    }));
  },
};

module.exports = [sdkPackageVersion, noEventStreams];
