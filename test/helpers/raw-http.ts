// A keep-alive HTTP client for hostile-input tests: sends exactly the path, headers and body bytes it is given.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

export interface RawRequest {
  method: string;
  /** Sent as given: percent-encoding is the caller's (so bad encodings can be sent on purpose). */
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export interface RawClient {
  send(request: RawRequest): Promise<RawResponse>;
  close(): Promise<void>;
  port: number;
}

/** Serves the app on a loopback port and returns a client that keeps its connections open between requests. */
export async function rawClient(app: Express): Promise<RawClient> {
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  return {
    port,
    send: ({ method, path, headers = {}, body }) =>
      new Promise<RawResponse>((resolve, reject) => {
        // Node sends a GET or DELETE body with neither length nor chunking, which would desynchronise the connection.
        const framed =
          body === undefined || 'Content-Length' in headers
            ? headers
            : { ...headers, 'Content-Length': String(Buffer.byteLength(body)) };
        const req = http.request({ host: '127.0.0.1', port, method, path, headers: framed, agent }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              text: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end(body);
      }),
    close: async () => {
      agent.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A loopback server for a request listener, for tests that open their own connections; close() ends them all. */
export async function listenOnLoopback(
  listener: http.RequestListener,
): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
