import { SLACK_HOSTS } from './aws/slack.ts';
import { sleepMs } from './aws/timing.ts';
import { currentWorld, type WorldContext } from './context.ts';
import { currentFunction } from './iam/enforce.ts';
import { currentInvocationWork } from './virtual-clock.ts';

let installed = false;

/**
 * The error undici's `fetch` rejects with when a host does not resolve: a `TypeError('fetch failed')` whose
 * `cause` is the resolver's error (`getaddrinfo ENOTFOUND <host>`, code ENOTFOUND, errno -3008 on Linux).
 */
export const dnsFailure = (hostname: string): TypeError => {
  const cause = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), {
    errno: -3008,
    code: 'ENOTFOUND',
    syscall: 'getaddrinfo',
    hostname,
  });
  return new TypeError('fetch failed', { cause });
};

const urlOf = (input: string | URL | Request): URL =>
  new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);

/**
 * One request made inside a world: answered by the world's test routes, never by the network. A host that is
 * no service's test route does not resolve (the world's DNS knows only those). The request takes a round trip
 * (`timing.apiCallMs`) plus the answering version's mean response time, in virtual time, when the caller holds
 * the clock (inside a function's invocation).
 */
const answer = async (
  run: WorldContext,
  input: string | URL | Request,
  init?: RequestInit,
): Promise<Response> => {
  const { world, clock } = run;
  const signal = init?.signal ?? (input instanceof Request ? input.signal : undefined);
  if (signal?.aborted) throw signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
  const url = urlOf(input);
  const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
  const waits = currentFunction.getStore() !== undefined;
  // A pre-signed URL ECR issued (GetDownloadUrlForLayer): the layer bucket answers with the blob.
  const blob = world.ecr.blobAt(url);
  if (blob) {
    if (waits) await sleepMs(clock, world.timing.apiCallMs);
    // Not on the timeline: like the ECR calls before it, it is the pipeline's own bookkeeping, not traffic.
    return new Response(new Uint8Array(blob), {
      status: 200,
      headers: { 'content-type': 'application/octet-stream' },
    });
  }
  if (url.hostname === world.ecr.blobHost) {
    if (waits) await sleepMs(clock, world.timing.apiCallMs);
    return new Response('<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>', {
      status: 403,
      headers: { 'content-type': 'application/xml' },
    });
  }
  // Slack's hosts are answered by the world's Slack workspace (sandbox/aws/slack.ts).
  if (SLACK_HOSTS.has(url.hostname)) {
    if (waits) await sleepMs(clock, world.timing.apiCallMs);
    return world.slack.answer(url, init, method);
  }
  const route = world.testRoutes.ofHost(url.hostname);
  if (!route) {
    if (waits) await sleepMs(clock, world.timing.apiCallMs);
    world.record('traffic', `${method} ${url.href}: getaddrinfo ENOTFOUND ${url.hostname}`);
    throw dnsFailure(url.hostname);
  }
  const served = world.testRoutes.serve(route, `${url.pathname}${url.search}`);
  if (waits) await sleepMs(clock, world.timing.apiCallMs + served.latencyMs);
  world.record(
    'traffic',
    `test route ${method} ${url.href}: ${served.status}${served.version ? ` from ${served.version}` : ' from the load balancer (no running task)'}`,
    undefined,
    route.service,
  );
  return served.version
    ? new Response(JSON.stringify({ version: served.version, path: url.pathname }), {
        status: served.status,
        headers: { 'content-type': 'application/json' },
      })
    : new Response('<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>', {
        status: 503,
        headers: { 'content-type': 'text/html', server: 'awselb/2.0' },
      });
};

/**
 * Replaces the global `fetch` once per process: inside a world (sandbox/context.ts) every request is answered by
 * that world (no real network, ever); outside every world `fetch` is the platform's own.
 */
export const installSandboxFetch = (): void => {
  if (installed) return;
  installed = true;
  const platformFetch = globalThis.fetch;
  globalThis.fetch = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const run = currentWorld();
    if (!run) return platformFetch(input, init);
    // A function's request is one call of its invocation's work, as an SDK call is (sandbox/intercept.ts).
    const work = currentInvocationWork();
    return work ? work.clock.track(() => answer(run, input, init)) : answer(run, input, init);
  };
};
