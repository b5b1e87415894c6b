import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { PassThrough } from 'node:stream';

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

/**
 * Hands a DynamoDB request to the local DynamoDB server's request listener in this process, without a
 * loopback socket: the same HTTP request (method, path, headers, signed body) reaches the same server code,
 * and the SDK reads the same status, headers and body, whichever endpoint the client resolved. With no local
 * server running the request goes to `next`.
 */
export const inProcessTransport = (
  server: () => Server | undefined,
  next: SdkRequestHandler,
): SdkRequestHandler => ({
  handle(request, options) {
    const running = server();
    const listener = running?.listeners('request')[0] as
      | ((req: IncomingMessage, res: ServerResponse) => void)
      | undefined;
    // Whatever endpoint the client resolved: a function's client resolves DynamoDB's regional endpoint, as
    // on AWS (its Lambda configuration names no other), and a sandbox request never leaves the process.
    if (!running || !listener) return next.handle(request, options);
    return new Promise((resolve, reject) => {
      const req = Object.assign(new PassThrough(), {
        method: request.method,
        url: request.path,
        headers: Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v])),
      });
      const headers: Record<string, string> = {};
      const res = {
        statusCode: 200,
        setHeader(name: string, value: unknown) {
          headers[name.toLowerCase()] = String(value);
        },
        end(body?: string | Buffer) {
          const bytes = body === undefined ? new Uint8Array(0) : Buffer.from(body);
          resolve({ response: { statusCode: res.statusCode, headers, body: bytes } });
        },
      };
      try {
        listener(req as unknown as IncomingMessage, res as unknown as ServerResponse);
      } catch (error) {
        reject(error);
        return;
      }
      const body = request.body;
      req.end(typeof body === 'string' || body instanceof Uint8Array ? body : undefined);
    });
  },
});
