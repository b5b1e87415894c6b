import { EventEmitter } from 'node:events';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The part of an SDK request the transport reads (an @smithy HttpRequest). */
interface SdkRequest {
  method: string;
  hostname: string;
  port?: number;
  path: string;
  headers: Record<string, string>;
  body?: unknown;
}

/** The part of an SDK request handler the DynamoDB client calls. */
export interface SdkRequestHandler {
  handle(request: SdkRequest, options?: unknown): Promise<{ response: unknown }>;
}

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Each listening server's address and request listener, read once: `server.address()` asks the socket
 * (a getsockname system call) every time, on every DynamoDB request. A closed server drops out (the next
 * server, even on the same port, is another object).
 */
const listening = new WeakMap<Server, { address?: AddressInfo; listener: Listener }>();

/** Servers that never listen: one world's own, reached only in-process (see `serveInProcessOnly`). */
const inProcessOnly = new WeakSet<Server>();

/** Marks a server that never listens as one the transport hands requests to (a world's own DynamoDB). */
export const serveInProcessOnly = (server: Server): Server => {
  inProcessOnly.add(server);
  return server;
};

const listeningOf = (
  server: Server | undefined,
): { address?: AddressInfo; listener: Listener } | undefined => {
  if (!server) return undefined;
  const inProcess = inProcessOnly.has(server);
  if (!inProcess && !server.listening) return undefined;
  const known = listening.get(server);
  if (known) return known;
  const listener = server.listeners('request')[0] as Listener | undefined;
  if (!listener) return undefined;
  if (inProcess) {
    const entry = { listener };
    listening.set(server, entry);
    return entry;
  }
  const address = server.address();
  if (typeof address !== 'object' || address === null) return undefined;
  const entry = { address, listener };
  listening.set(server, entry);
  return entry;
};

/**
 * Hands a DynamoDB request to the local DynamoDB server's request listener in this process, without a
 * loopback socket: the same HTTP request (method, path, headers, signed body) reaches the same server code,
 * and the SDK reads the same status, headers and body, whichever endpoint the client resolved. With no local
 * server running the request goes to `next`.
 * The request body reaches the listener as an IncomingMessage's events do (`data` once, then `end`),
 * emitted once the listener has subscribed, without a stream's buffering and scheduling in between.
 */
export const inProcessTransport = (
  server: () => Server | undefined,
  next: SdkRequestHandler,
): SdkRequestHandler => ({
  handle(request, options) {
    const running = listeningOf(server());
    // Whatever endpoint the client resolved: a function's client resolves DynamoDB's regional endpoint, as
    // on AWS (its Lambda configuration names no other), and a sandbox request never leaves the process.
    if (!running) return next.handle(request, options);
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value;
      const req = Object.assign(new EventEmitter(), {
        method: request.method,
        url: request.path,
        headers,
      });
      const responseHeaders: Record<string, string> = {};
      const res = {
        statusCode: 200,
        setHeader(name: string, value: unknown) {
          responseHeaders[name.toLowerCase()] = String(value);
        },
        end(body?: string | Buffer) {
          const bytes = body === undefined ? new Uint8Array(0) : Buffer.from(body);
          resolve({ response: { statusCode: res.statusCode, headers: responseHeaders, body: bytes } });
        },
      };
      try {
        running.listener(req as unknown as IncomingMessage, res as unknown as ServerResponse);
        const body = request.body;
        // A view of the body's bytes (the SDK's body is a Uint8Array that warns when read as a string).
        const bytes =
          typeof body === 'string'
            ? Buffer.from(body)
            : body instanceof Uint8Array
              ? Buffer.from(body.buffer, body.byteOffset, body.byteLength)
              : undefined;
        if (bytes && bytes.length > 0) req.emit('data', bytes);
        req.emit('end');
      } catch (error) {
        reject(error);
      }
    });
  },
});
