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

/**
 * Each SDK client declares every error of its service as a class (ECS 31, ELBv2 56, DynamoDB 35...), and
 * registers them all, so every one is bundled: about 250 bytes minified each, 5 to 13 KB per client,
 * parsed on every cold start. The classes are generated to one pattern: a name, a fault, an optional
 * `$retryable`, members copied from the response. This rewrites such a `models/errors.js` to one small
 * factory called once per error, with the same behaviour: same exported names, each error its own
 * subclass of the service's exception with the same `name`, `$fault`, `$retryable`, members and static
 * `shapeId` (so `instanceof` and `error.name` are unchanged, and the class keeps its name when minified).
 * A file that departs from the pattern in any line is bundled as it is.
 */
// One generated error class, line by line; the optional lines (static shapeId, $retryable) and the
// repeated ones (member declarations and assignments) are folded into the line they precede.
const ERROR_CLASS = new RegExp(
  `^${[
    'export class (\\w+) extends __BaseException \\{',
    '(?:    static shapeId = "([^"#]+)#(\\w+)";\\n)?    name = "(\\w+)";',
    '    \\$fault = "(client|server)";',
    '(?:    \\$retryable = (\\{[^}\\n]*\\});\\n)?((?:    \\w+;\\n)*)    constructor\\(opts\\) \\{',
    '        super\\(\\{',
    '            name: "(\\w+)",',
    '            \\$fault: "(client|server)",',
    '            \\.\\.\\.opts,',
    '        \\}\\);',
    '        Object\\.setPrototypeOf\\(this, (\\w+)\\.prototype\\);',
    '((?:        this\\.\\w+ = opts\\.\\w+;\\n)*)    \\}',
    '\\}',
  ].join('\\n')}\\n`,
);
const ERRORS_IMPORT =
  /^import \{ (\w+ServiceException) as __BaseException \} from "(\.\/\w+ServiceException)";\n/;

/** The compact `models/errors.js`, or undefined when `source` is not made only of generated error classes. */
const compactErrorClasses = (source) => {
  const header = ERRORS_IMPORT.exec(source);
  if (!header) return undefined;
  let rest = source.slice(header[0].length);
  const errors = [];
  while (rest.length > 0) {
    const match = ERROR_CLASS.exec(rest);
    if (!match) return undefined;
    const [
      whole,
      className,
      namespace,
      shapeName,
      name,
      fault,
      retryable,
      fieldLines,
      superName,
      superFault,
      protoName,
      assignLines,
    ] = match;
    const fields = [...fieldLines.matchAll(/^ {4}(\w+);$/gm)].map((m) => m[1]);
    const assigned = [...assignLines.matchAll(/^ {8}this\.(\w+) = opts\.(\w+);$/gm)].map((m) => [m[1], m[2]]);
    const consistent =
      className === name &&
      superName === name &&
      protoName === name &&
      superFault === fault &&
      (shapeName === undefined || shapeName === name) &&
      assigned.length === fields.length &&
      assigned.every(([target, from], i) => target === from && target === fields[i]);
    if (!consistent) return undefined;
    errors.push({ name, namespace, fault, retryable, fields });
    rest = rest.slice(whole.length);
  }
  if (errors.length === 0) return undefined;
  const lines = [
    header[0].trimEnd(),
    // Field order as the classes define them: name, $fault, $retryable, members; then the prototype, then members.
    `const __error = (name, $fault, members, namespace, retryable) => {
  const ServiceError = class extends __BaseException {
    constructor(opts) {
      super({ name, $fault, ...opts });
      this.name = name;
      this.$fault = $fault;
      if (retryable) this.$retryable = retryable();
      for (const member of members) this[member] = undefined;
      Object.setPrototypeOf(this, ServiceError.prototype);
      for (const member of members) this[member] = opts[member];
    }
  };
  Object.defineProperty(ServiceError, "name", { value: name });
  if (namespace) ServiceError.shapeId = namespace + "#" + name;
  return ServiceError;
};`,
  ];
  // The shape namespace, once per file rather than once per error.
  const namespaces = [...new Set(errors.map((error) => error.namespace ?? ''))];
  lines.push(`const __namespaces = ${JSON.stringify(namespaces)};`);
  for (const { name, namespace, fault, retryable, fields } of errors) {
    const args = [JSON.stringify(name), JSON.stringify(fault), JSON.stringify(fields)];
    if (namespace || retryable) args.push(`__namespaces[${namespaces.indexOf(namespace ?? '')}]`);
    if (retryable) args.push(`() => (${retryable})`);
    lines.push(`export const ${name} = /* @__PURE__ */ __error(${args.join(', ')});`);
  }
  return `${lines.join('\n')}\n`;
};

const compactSdkErrors = {
  name: 'shipline-compact-sdk-errors',
  setup(build) {
    build.onLoad(
      { filter: /[\\/]node_modules[\\/]@aws-sdk[\\/]client-[^\\/]+[\\/]dist-es[\\/]models[\\/]errors\.js$/ },
      (args) => {
        const contents = compactErrorClasses(readFileSync(args.path, 'utf8'));
        return contents === undefined ? undefined : { contents, loader: 'js' };
      },
    );
  },
};

/**
 * The DynamoDB client builds an endpoint-discovery cache (`@aws-sdk/endpoint-cache`) on an LRU cache from
 * mnemonist: with its iterator helpers about 7 KB minified in every function that uses DynamoDB, for a
 * cache only filled when endpoint discovery is enabled, which Shipline never does. The cache gets the
 * same least-recently-used cache on a Map, with the methods it calls: get and set refresh a key, peek
 * and has do not, set evicts the least recently used key when full.
 */
const LRU_CACHE_ON_MAP = `export default class LRUCache {
  constructor(capacity) {
    if (!(capacity > 0)) throw new Error("LRUCache: capacity should be a positive number");
    this.capacity = capacity;
    this.items = new Map();
  }
  get size() { return this.items.size; }
  has(key) { return this.items.has(key); }
  peek(key) { return this.items.get(key); }
  get(key) {
    if (!this.items.has(key)) return undefined;
    const value = this.items.get(key);
    this.items.delete(key);
    this.items.set(key, value);
    return value;
  }
  set(key, value) {
    this.items.delete(key);
    if (this.items.size >= this.capacity) this.items.delete(this.items.keys().next().value);
    this.items.set(key, value);
    return this;
  }
  clear() { this.items.clear(); }
}
`;
const endpointCacheOnMap = {
  name: 'shipline-endpoint-cache-on-map',
  setup(build) {
    build.onResolve({ filter: /^mnemonist\/lru-cache(\.js)?$/ }, (args) =>
      /[\\/]@aws-sdk[\\/]endpoint-cache[\\/]/.test(args.importer)
        ? { path: 'lru-cache', namespace: 'shipline-endpoint-cache-on-map' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'shipline-endpoint-cache-on-map' }, () => ({
      contents: LRU_CACHE_ON_MAP,
      loader: 'js',
    }));
  },
};

/**
 * middy imports `ReadableStream` from `node:stream/web` for streamed responses only (`streamifyResponse`,
 * which Shipline does not use), and that import loads Node's whole web-streams implementation at every
 * cold start (about 2 ms). Node has the same class as a global (`globalThis.ReadableStream`, loaded on
 * first use), so without the import line middy's code reads the same class, only when it streams.
 */
const MIDDY_STREAM_WEB_IMPORT = /^import \{ ReadableStream \} from "node:stream\/web";\n/m;
const middyWebStreamsOnUse = {
  name: 'shipline-middy-web-streams-on-use',
  setup(build) {
    build.onLoad({ filter: /[\\/]node_modules[\\/]@middy[\\/]core[\\/]index\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      // Only where the file declares no ReadableStream of its own besides that import.
      const rest = source.replace(MIDDY_STREAM_WEB_IMPORT, '');
      if (rest === source || /\b(?:const|let|var|class|function)\s+ReadableStream\b/.test(rest))
        return undefined;
      return { contents: rest, loader: 'js' };
    });
  },
};

module.exports = [
  sdkPackageVersion,
  noEventStreams,
  compactSdkErrors,
  endpointCacheOnMap,
  middyWebStreamsOnUse,
];
module.exports.compactErrorClasses = compactErrorClasses;
module.exports.LRU_CACHE_ON_MAP = LRU_CACHE_ON_MAP;
