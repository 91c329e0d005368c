/**
 * One load-generating connection. Keeps a FIFO of the requests in flight (operation and
 * the time the latency is measured from) and frames replies as they arrive; the caller
 * decides what a reply triggers (closed loop: send the next request; open loop: nothing).
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { INCOMPLETE, REPLY_ERROR, describeReply, framed, type Framer, type Op } from './protocols.ts';

export type ReplyHandler = (op: Op, startedMs: number, nowMs: number, status: number) => void;

/** The first few error replies of the run, across connections, for the report. */
export const errorSamples: string[] = [];
const MAX_SAMPLES = 5;

const RING = 1 << 17;
const MASK = RING - 1;

export class LoadConnection {
  private readonly ops = new Uint8Array(RING);
  private readonly starts = new Float64Array(RING);
  private head = 0; // next reply
  private tail = 0; // next request
  private pending: Buffer | undefined;
  private closing = false;
  onReply: ReplyHandler = () => {};
  /** The server closed the connection with `lost` requests unanswered. */
  onLost: (lost: number) => void = () => {};

  private constructor(
    readonly socket: net.Socket,
    private readonly framer: Framer,
  ) {}

  static open(host: string, port: number, framer: Framer): Promise<LoadConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port, noDelay: true });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        socket.on('error', (e) => {
          process.stderr.write(`load connection error: ${e.message}\n`);
        });
        resolve(new LoadConnection(socket, framer));
      });
    });
  }

  /** Sends `request` and waits for reply bytes for which `done` holds (login handshakes). */
  handshake(request: Buffer, done: (b: Buffer) => boolean, timeoutMs = 5000): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      let got = Buffer.alloc(0);
      const timer = setTimeout(() => {
        this.socket.off('data', onData);
        reject(new Error(`login handshake timed out; got ${JSON.stringify(got.toString('latin1'))}`));
      }, timeoutMs);
      const onData = (d: Buffer) => {
        got = Buffer.concat([got, d]);
        if (done(got)) {
          clearTimeout(timer);
          this.socket.off('data', onData);
          resolve(got);
        }
      };
      this.socket.on('data', onData);
      this.socket.write(request);
    });
  }

  /** From now on, replies are framed and handed to `onReply`. */
  start(): void {
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('close', () => {
      if (!this.closing) this.onLost(this.inFlight);
    });
  }

  get inFlight(): number {
    return this.tail - this.head;
  }

  /** Queues one request; false (and nothing sent) when the ring of in-flight requests is full. */
  send(op: Op, request: Buffer, startedMs: number): boolean {
    if (this.tail - this.head >= RING || this.socket.destroyed) return false;
    const slot = this.tail & MASK;
    this.ops[slot] = op;
    this.starts[slot] = startedMs;
    this.tail++;
    this.socket.write(request);
    return true;
  }

  /** The start times of the requests still unanswered (for open-loop accounting at the end). */
  unansweredStarts(): number[] {
    const out: number[] = [];
    for (let i = this.head; i < this.tail; i++) out.push(this.starts[i & MASK]!);
    return out;
  }

  close(): void {
    this.closing = true;
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    let buf = chunk;
    if (this.pending) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = undefined;
    }
    const now = performance.now();
    let off = 0;
    // Replies may trigger new requests: batch them into one segment.
    this.socket.cork();
    while (off < buf.length && this.head < this.tail) {
      const slot = this.head & MASK;
      const op = this.ops[slot] as Op;
      const end = this.framer(buf, off, op);
      if (end === INCOMPLETE) break;
      if (framed.status === REPLY_ERROR && errorSamples.length < MAX_SAMPLES) {
        errorSamples.push(`${framed.detail}: ${describeReply(buf, off, end)}`);
      }
      off = end;
      this.head++;
      this.onReply(op, this.starts[slot]!, now, framed.status);
    }
    this.socket.uncork();
    if (off < buf.length) this.pending = Buffer.from(buf.subarray(off));
  }
}
