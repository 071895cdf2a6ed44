/**
 * A TCP proxy on 127.0.0.1 in front of one dependency, to inject faults for real:
 * - `pass`: bytes flow both ways;
 * - `refuse`: the port is closed (connection refused), as when the process is stopped;
 * - `hang`: connections are accepted and never answered (a dead or overloaded peer);
 * - `reset`: connections are accepted and reset at once;
 * - `respond`: every connection gets this raw HTTP response (e.g. a throttling error).
 */
import { createServer, Server, Socket, connect } from 'node:net';
import type { AddressInfo } from 'node:net';

export type FaultMode = { kind: 'pass' } | { kind: 'refuse' } | { kind: 'hang' } | { kind: 'reset' } | { kind: 'respond'; status: number; headers: Record<string, string>; body: string };

export interface FaultProxy {
  readonly port: number;
  readonly url: string;
  set(mode: FaultMode): Promise<void>;
  close(): Promise<void>;
}

/** Start a proxy to `targetPort` on a free port; the port stays the same across modes. */
export async function startFaultProxy(targetPort: number): Promise<FaultProxy> {
  let mode: FaultMode = { kind: 'pass' };
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;

  const listen = async () => {
    server = createServer((client) => {
      sockets.add(client);
      client.on('close', () => sockets.delete(client));
      client.on('error', () => undefined);
      const current = mode;
      switch (current.kind) {
        case 'hang':
          return; // keep the socket open, say nothing
        case 'reset':
          client.resetAndDestroy();
          return;
        case 'respond': {
          const head = [`HTTP/1.1 ${current.status} Fault`, ...Object.entries({ ...current.headers, 'content-length': String(Buffer.byteLength(current.body)), connection: 'close' }).map(([k, v]) => `${k}: ${v}`)];
          client.once('data', () => client.end(`${head.join('\r\n')}\r\n\r\n${current.body}`));
          return;
        }
        default: {
          const upstream = connect(targetPort, '127.0.0.1');
          sockets.add(upstream);
          upstream.on('close', () => sockets.delete(upstream));
          upstream.on('error', () => client.destroy());
          client.on('error', () => upstream.destroy());
          client.pipe(upstream).pipe(client);
        }
      }
    });
    await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
    port = (server!.address() as AddressInfo).port;
  };
  const stop = async () => {
    if (!server) return;
    const s = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  await listen();
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    async set(next) {
      // Existing connections belong to the old mode; a new mode starts from fresh connections.
      await stop();
      mode = next;
      if (next.kind !== 'refuse') await listen();
    },
    close: stop,
  };
}
