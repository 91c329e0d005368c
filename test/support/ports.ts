// Free loopback TCP ports for tests: bind port 0, read the port the kernel chose,
// close. There is an unavoidable race between closing and the server binding, so
// callers should use the ports promptly.
import net from 'node:net';

const LOOPBACK = '127.0.0.1';

function listenOn(port: number, host = LOOPBACK): Promise<net.Server | null> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(null));
    server.listen({ port, host, exclusive: true }, () => resolve(server));
  });
}

function close(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** One free TCP port on 127.0.0.1. */
export async function freePort(host = LOOPBACK): Promise<number> {
  const server = await listenOn(0, host);
  if (!server) throw new Error(`cannot bind an ephemeral port on ${host}`);
  const port = (server.address() as net.AddressInfo).port;
  await close(server);
  return port;
}

/**
 * `count` free TCP ports on 127.0.0.1. With `consecutive: true` they are
 * P, P+1, …, P+count-1 (for `cachier start --port P --nodes N`).
 */
export async function freePorts(
  count: number,
  opts: { consecutive?: boolean; host?: string } = {},
): Promise<number[]> {
  const host = opts.host ?? LOOPBACK;
  if (!Number.isInteger(count) || count < 1) throw new Error(`bad port count ${count}`);

  if (!opts.consecutive) {
    // Hold every port open until all are chosen so that none repeats.
    const held: net.Server[] = [];
    try {
      while (held.length < count) {
        const s = await listenOn(0, host);
        if (!s) throw new Error(`cannot bind an ephemeral port on ${host}`);
        held.push(s);
      }
      return held.map((s) => (s.address() as net.AddressInfo).port);
    } finally {
      await Promise.all(held.map(close));
    }
  }

  for (let attempt = 0; attempt < 100; attempt++) {
    const first = await listenOn(0, host);
    if (!first) throw new Error(`cannot bind an ephemeral port on ${host}`);
    const base = (first.address() as net.AddressInfo).port;
    const held: net.Server[] = [first];
    let ok = base + count - 1 <= 65535;
    for (let i = 1; ok && i < count; i++) {
      const s = await listenOn(base + i, host);
      if (s) held.push(s);
      else ok = false;
    }
    await Promise.all(held.map(close));
    if (ok) return Array.from({ length: count }, (_, i) => base + i);
  }
  throw new Error(`could not find ${count} consecutive free ports on ${host}`);
}
