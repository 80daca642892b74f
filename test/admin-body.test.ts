// Admin bodies are read only for a caller who may use the operation, within the operation's own limit, and never compressed.
import net from 'node:net';
import { ADMIN, openTestHost, userWith, type TestHost } from './helpers/app';
import { listenOnLoopback } from './helpers/raw-http';

let host: TestHost;
let server: Awaited<ReturnType<typeof listenOnLoopback>>;
let port: number;

beforeAll(async () => {
  host = await openTestHost({ adminBodyLimitBytes: 64 * 1024, importBodyLimitBytes: 8 * 1024 * 1024 });
  server = await listenOnLoopback(host.app);
  ({ port } = server);
});

afterAll(async () => {
  await server.close();
  await host.close();
});

/**
 * Sends a request head declaring `declared` body bytes and only the first few, and resolves with the status line
 * once the server answers. A server that reads the body before deciding would wait for bytes that never come.
 */
async function answerBeforeBody(path: string, headers: Record<string, string>, declared: number): Promise<number> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.on('error', () => undefined);
  const head = Object.entries({
    Host: 'x',
    'Content-Type': 'application/json',
    'Content-Length': String(declared),
    ...headers,
  })
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.write(`POST ${path} HTTP/1.1\r\n${head}\r\n{"tokens":[`);
  try {
    return await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to ${path} while its body was still unsent`)), 3000);
      socket.once('data', (chunk: Buffer) => {
        clearTimeout(timer);
        resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(chunk.toString('latin1'))?.[1] ?? 0));
      });
    });
  } finally {
    socket.destroy();
  }
}

describe('admin bodies', () => {
  it('answers an import by a user without import permissions (403) or no user (401) without reading its body', async () => {
    const fiftyMegabytes = 50 * 1024 * 1024;
    expect(
      await answerBeforeBody(
        '/admin/udapi/import',
        userWith('UserDefinableApiTokenRead', 'UserDefinableApiDefinitionRead'),
        fiftyMegabytes,
      ),
    ).toBe(403);
    expect(await answerBeforeBody('/admin/udapi/import', {}, fiftyMegabytes)).toBe(401);
    // The same for every other operation with a body.
    expect(await answerBeforeBody('/admin/udapi/tokens', userWith('UserDefinableApiTokenRead'), 60 * 1024)).toBe(403);
    expect(await answerBeforeBody('/admin/udapi/definitions', userWith('UserDefinableApiTokenRead'), 60 * 1024)).toBe(
      403,
    );
  });

  it('holds each operation to its own limit: the import limit only for an import by a user who may import', async () => {
    // Over the import limit: refused from the declared length at once, no body read.
    expect(await answerBeforeBody('/admin/udapi/import', ADMIN, 9 * 1024 * 1024)).toBe(413);
    // Over the admin limit on another operation, though under the import limit.
    expect(await answerBeforeBody('/admin/udapi/tokens', ADMIN, 100 * 1024)).toBe(413);
    // An authorised import of a size between the two is read and judged on its content.
    const body = JSON.stringify({ format: 'not-a-backup', padding: 'x'.repeat(200 * 1024) });
    const res = await fetch(`http://127.0.0.1:${port}/admin/udapi/import`, {
      method: 'POST',
      headers: { ...ADMIN, 'Content-Type': 'application/json' },
      body,
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { errors: { reason: string }[] }).errors[0]!.reason).not.toBe('PayloadTooLarge');
  });

  it.each(['gzip', 'deflate', 'br'])(
    'refuses a body with Content-Encoding %s (415) and accepts identity',
    async (encoding) => {
      const post = (headers: Record<string, string>) =>
        fetch(`http://127.0.0.1:${port}/admin/udapi/tokens`, {
          method: 'POST',
          headers: { ...ADMIN, 'Content-Type': 'application/json', ...headers },
          body: JSON.stringify({ name: `enc-${encoding}` }),
        });
      const refused = await post({ 'Content-Encoding': encoding });
      expect(refused.status).toBe(415);
      expect(((await refused.json()) as { errors: { reason: string }[] }).errors[0]!.reason).toBe(
        'UnsupportedMediaType',
      );
      const accepted = await post({ 'Content-Encoding': 'identity' });
      expect(accepted.status).toBe(201);
    },
  );
});
