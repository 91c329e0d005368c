/**
 * Latency probes: every `intervalMs` (`--latency-interval`, default 20 s) the control
 * plane opens a fresh connection to every node's memcache port and times the round trip
 * of one `version` request (which a node answers before any login), from the moment the
 * request is written to the end of the `VERSION …` line, in nanoseconds
 * (process.hrtime.bigint). The connect (and a TLS handshake) is not part of the figure;
 * a busy event loop on the node is. The probe then closes the connection; it never logs
 * in, so it counts in no cache's stats.
 *
 * - A node that does not answer within `timeoutMs` (default: 5 s, or the interval when
 *   shorter), or answers anything but a VERSION line, records nothing for that round: a
 *   gap in its latency series, rather than an invented figure that would skew the mean.
 * - TLS nodes (`--tls-cert`): a probe that the node hangs up on is retried at once over
 *   TLS (certificate not checked: nothing secret is sent), and the mode that answered is
 *   remembered per node.
 * - Rounds start on multiples of the interval and the catalog keeps one probe per (node,
 *   slot), so several control planes on one catalog store one probe per interval.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Catalog } from '../../catalog/catalog.ts';
import type { LatencyProbe } from '../../catalog/latency.ts';
import { SlotRounds } from '../slot-rounds.ts';

export const DEFAULT_LATENCY_INTERVAL_S = 20;
const MAX_TIMEOUT_MS = 5_000;
/** The longest VERSION line we wait for. */
const MAX_REPLY = 1024;

type Mode = 'plain' | 'tls';
type Outcome = { ns: number } | { failed: 'timeout' | 'refused' | 'protocol' };

/** Times one `version` round trip to host:port over a fresh connection. */
export function probeVersion(address: string, mode: Mode, timeoutMs: number): Promise<Outcome> {
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(colon + 1));
  return new Promise((resolve) => {
    let settled = false;
    let started: bigint | undefined;
    let reply = '';
    const socket = mode === 'tls'
      ? tls.connect({ host, port, rejectUnauthorized: false, servername: net.isIP(host) ? undefined : host })
      : net.connect({ host, port });
    const finish = (o: Outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(o);
    };
    const timer = setTimeout(() => finish({ failed: 'timeout' }), timeoutMs);
    socket.setNoDelay(true);
    socket.once(mode === 'tls' ? 'secureConnect' : 'connect', () => {
      started = process.hrtime.bigint();
      socket.write('version\r\n');
    });
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      if (started === undefined) return finish({ failed: 'protocol' });
      const now = process.hrtime.bigint();
      reply += chunk;
      const end = reply.indexOf('\r\n');
      if (end < 0) {
        if (reply.length > MAX_REPLY) finish({ failed: 'protocol' });
        return;
      }
      finish(reply.startsWith('VERSION ') ? { ns: Number(now - started) } : { failed: 'protocol' });
    });
    socket.on('error', (e: NodeJS.ErrnoException) => finish({ failed: e.code === 'ECONNREFUSED' ? 'refused' : 'protocol' }));
    socket.on('close', () => finish({ failed: 'protocol' }));
  });
}

export interface LatencyProberOptions {
  readonly catalog: Catalog;
  readonly intervalMs: number;
  /** Default: 5 s, or the interval when shorter. */
  readonly timeoutMs?: number;
  readonly now?: () => number;
  /** Unexpected failures of a round (a node not answering is not one). */
  readonly onError?: (error: unknown) => void;
  /** Told each probe's outcome: its nanoseconds, or undefined when the node did not answer (metrics.ts). */
  readonly onProbe?: (server: string, ns: number | undefined) => void;
}

export class LatencyProber {
  private readonly now: () => number;
  private readonly timeoutMs: number;
  private readonly rounds: SlotRounds;
  /** The mode each node last answered in. */
  private readonly modes = new Map<string, Mode>();

  constructor(private readonly opts: LatencyProberOptions) {
    this.now = opts.now ?? Date.now;
    this.timeoutMs = opts.timeoutMs ?? Math.min(MAX_TIMEOUT_MS, opts.intervalMs);
    this.rounds = new SlotRounds(opts.intervalMs, this.now, () => this.probeOnce().then(() => {}, (e) => this.opts.onError?.(e)));
  }

  /** Probes now, then at each next multiple of the interval (slot-rounds.ts). */
  start(): void {
    this.rounds.start();
  }

  /** Stops the timer and waits for a round in flight. */
  stop(): Promise<void> {
    return this.rounds.stop();
  }

  /** One round: probes every node of the catalog and stores what answered; returns those probes. */
  async probeOnce(now = this.now()): Promise<LatencyProbe[]> {
    const nodes = await this.opts.catalog.listNodes();
    const results = await Promise.all(nodes.map(async (node): Promise<LatencyProbe | undefined> => {
      const ns = await this.probe(node.address);
      this.opts.onProbe?.(node.address, ns);
      return ns === undefined ? undefined : { server: node.address, timestamp: now, ns };
    }));
    const probes = results.filter((p): p is LatencyProbe => p !== undefined);
    if (probes.length) await this.opts.catalog.addLatency(probes, this.opts.intervalMs);
    return probes;
  }

  /** One node: its remembered mode first, the other when the node hung up on it. */
  private async probe(address: string): Promise<number | undefined> {
    const known = this.modes.get(address);
    const order: Mode[] = known === 'tls' ? ['tls', 'plain'] : ['plain', 'tls'];
    const deadline = Date.now() + this.timeoutMs;
    for (const mode of order) {
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      const o = await probeVersion(address, mode, left);
      if ('ns' in o) {
        this.modes.set(address, mode);
        return o.ns;
      }
      if (o.failed !== 'protocol') return undefined;
    }
    return undefined;
  }
}
