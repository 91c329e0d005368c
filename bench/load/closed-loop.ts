/**
 * Closed loop: every connection keeps `depth` requests in flight and sends a new one as
 * each reply arrives, as memcaslap does with depth 1. Throughput is what the slower of
 * client and server allows; latency is measured from each request's send.
 */
import { performance } from 'node:perf_hooks';
import { errorSamples } from './connection.ts';
import { LatencyHistogram } from './histogram.ts';
import type { LoadConnection } from './connection.ts';
import { Ketama } from './ketama.ts';
import { RequestMix, openConnections } from './mix.ts';
import { OP_GET, REPLY_ERROR, REPLY_MISS, keyName } from './protocols.ts';
import type { ClosedLoopSpec, LoadResult } from './spec.ts';

export async function runClosedLoop(spec: ClosedLoopSpec): Promise<LoadResult> {
  // clients[c][s]: client c's connection to server s (one server unless spec.servers).
  const targets = spec.servers?.length ? spec.servers : [{ host: spec.host, port: spec.port }];
  const perServer = await Promise.all(targets.map((t) => openConnections({ ...spec, host: t.host, port: t.port })));
  const clients: LoadConnection[][] = Array.from({ length: spec.connections }, (_, c) => perServer.map((conns) => conns[c]!));
  const conns = perServer.flat();
  // Each key's server, looked up once: hashing per request would load the client, not the servers.
  const ring = new Ketama(targets.map((t) => `${t.host}:${t.port}`));
  const route = Uint16Array.from({ length: spec.keys }, (_, i) => (targets.length > 1 ? ring.serverFor(keyName(i)) : 0));
  const mix = new RequestMix(spec);
  const histogram = new LatencyHistogram();
  let measuring = false;
  let sending = true;
  let ops = 0;
  let hits = 0;
  let misses = 0;
  let errors = 0;
  let gets = 0;
  let connectionsClosed = 0;
  let measureFrom = 0;

  for (const client of clients) for (const c of client) {
    c.onReply = (op, started, now, status) => {
      // Errors count from the first request on (warm-up too) and are no operations: an
      // error answered fast must not read as throughput.
      if (status === REPLY_ERROR) errors++;
      else if (measuring && started >= measureFrom) {
        ops++;
        histogram.recordMs(now - started);
        if (op === OP_GET) gets++;
        if (status === REPLY_MISS) misses++;
        else hits++;
      }
      if (sending) {
        const req = mix.next();
        client[route[mix.key]!]!.send(mix.op, req, performance.now());
      }
    };
    c.onLost = (lost) => {
      if (!sending) return;
      connectionsClosed++;
      errors += Math.max(1, lost); // a closed connection is an error even with nothing in flight
    };
  }

  const cpu0 = process.cpuUsage();
  const start = performance.now();
  for (const client of clients) {
    for (const c of client) c.socket.cork();
    for (let d = 0; d < spec.depth; d++) {
      const req = mix.next();
      client[route[mix.key]!]!.send(mix.op, req, start);
    }
    for (const c of client) c.socket.uncork();
  }
  await sleep(spec.warmupSeconds * 1000);
  measureFrom = performance.now();
  measuring = true;
  await sleep(spec.seconds * 1000);
  measuring = false;
  sending = false;
  const elapsed = (performance.now() - measureFrom) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const wall = (performance.now() - start) / 1000;
  // Let the last replies drain, briefly, then close.
  const drainUntil = performance.now() + 1000;
  while (conns.some((c) => c.inFlight > 0) && performance.now() < drainUntil) await sleep(10);
  for (const c of conns) c.close();

  return {
    mode: 'closed',
    ops,
    seconds: round(elapsed, 3),
    opsPerSec: Math.round(ops / elapsed),
    latency: histogram.summary(),
    hits,
    misses,
    gets,
    errors,
    connectionsClosed,
    errorSamples,
    clientCpuPercent: Math.round(((cpu.user + cpu.system) / 1e6 / wall) * 100),
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
