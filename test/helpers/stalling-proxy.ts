// A TCP proxy to the test database that can stall (hold what clients send), reset the stalled connections, or resume.
import { once } from 'node:events';
import net from 'node:net';

export interface StallingProxy {
  /** MONGODB_URI with the first host replaced by the proxy (and directConnection, since only that host is proxied). */
  uri: string;
  /** From now on, what clients send is held, not forwarded: their commands hang as on a partition. */
  stall(): void;
  /** Forwards what was held and everything after it again. */
  resume(): void;
  /** Resets the connections that stalled so far. */
  resetStalled(): void;
  /** Ends every connection, so that a client's close does not wait on one that stalled. */
  close(): void;
}

export async function stallingProxy(): Promise<StallingProxy> {
  const uri = new URL(process.env.MONGODB_URI!.replace(/^mongodb:\/\/([^/]*?@)?([^,/]+)(,[^/]*)?/, 'mongodb://$1$2'));
  const target = { port: Number(uri.port || 27017), host: uri.hostname };
  let stalled = false;
  const held = new Map<net.Socket, { upstream: net.Socket; chunks: Buffer[] }>();
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    open.add(client).add(upstream);
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
    upstream.pipe(client);
    client.on('data', (chunk: Buffer) => {
      const holding = held.get(client);
      if (!stalled && !holding) {
        upstream.write(chunk);
        return;
      }
      if (holding) holding.chunks.push(chunk);
      else held.set(client, { upstream, chunks: [chunk] });
      client.pause();
    });
    client.on('close', () => upstream.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  uri.host = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  uri.searchParams.set('directConnection', 'true');
  return {
    uri: uri.toString(),
    stall: () => {
      stalled = true;
    },
    resume: () => {
      stalled = false;
      for (const [client, { upstream, chunks }] of held) {
        chunks.forEach((chunk) => upstream.write(chunk));
        client.resume();
      }
      held.clear();
    },
    resetStalled: () => {
      for (const client of held.keys()) client.resetAndDestroy();
      held.clear();
    },
    close: () => {
      server.close();
      open.forEach((socket) => socket.destroy());
    },
  };
}
