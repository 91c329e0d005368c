/** A bare TCP client for black-box tests: send exact bytes, read exactly what comes back. */
import { connect, type Socket } from 'node:net';
import { PROMPTLY_MS } from './wait.ts';

export class RawClient {
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;
  readonly closedPromise: Promise<void>;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    this.closedPromise = new Promise((resolve) => {
      socket.on('close', () => {
        this.closed = true;
        this.wake();
        resolve();
      });
    });
    socket.on('error', () => {});
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect(port, host, () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  send(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Waits until `done(bytes so far)` holds, then returns and clears those bytes. */
  async readUntil(done: (b: Buffer) => boolean, timeoutMs = PROMPTLY_MS): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this.buf)) {
      if (this.closed) throw new Error(`connection closed; got ${JSON.stringify(this.buf.toString('latin1'))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; got ${JSON.stringify(this.buf.toString('latin1'))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    const out = this.buf;
    this.buf = Buffer.alloc(0);
    return out;
  }

  /** Sends a text request and reads until the reply ends with `terminator`. */
  async text(request: string | Buffer, terminator = '\r\n'): Promise<string> {
    this.send(request);
    return (await this.readUntil((b) => b.toString('latin1').endsWith(terminator))).toString('latin1');
  }

  /** Reads `n` binary responses (24-byte header + body each). */
  async binary(n = 1, timeoutMs = PROMPTLY_MS): Promise<BinaryResponse[]> {
    const raw = await this.readUntil((b) => countFrames(b) >= n, timeoutMs);
    return splitFrames(raw);
  }

  /** Reads `n` binary responses, or 'closed' when the server closes first; throws at the deadline. */
  async binaryOrClosed(n = 1, timeoutMs = PROMPTLY_MS): Promise<BinaryResponse[] | 'closed'> {
    try {
      return await this.binary(n, timeoutMs);
    } catch (e) {
      if (this.closed) return 'closed';
      throw e;
    }
  }

  /** Resolves true when the server closes the connection within `ms`. */
  async waitClosed(ms = PROMPTLY_MS): Promise<boolean> {
    await Promise.race([this.closedPromise, new Promise((r) => setTimeout(r, ms))]);
    return this.closed;
  }

  end(): void {
    this.socket.destroy();
  }
}

export interface BinaryResponse {
  opcode: number;
  status: number;
  opaque: number;
  cas: bigint;
  extras: Buffer;
  key: Buffer;
  value: Buffer;
}

function countFrames(b: Buffer): number {
  let n = 0;
  let off = 0;
  while (off + 24 <= b.length) {
    const len = b.readUInt32BE(off + 8);
    if (off + 24 + len > b.length) break;
    off += 24 + len;
    n++;
  }
  return n;
}

function splitFrames(b: Buffer): BinaryResponse[] {
  const out: BinaryResponse[] = [];
  let off = 0;
  while (off + 24 <= b.length) {
    const keyLen = b.readUInt16BE(off + 2);
    const extLen = b[off + 4]!;
    const bodyLen = b.readUInt32BE(off + 8);
    const body = b.subarray(off + 24, off + 24 + bodyLen);
    out.push({
      opcode: b[off + 1]!,
      status: b.readUInt16BE(off + 6),
      opaque: b.readUInt32BE(off + 12),
      cas: b.readBigUInt64BE(off + 16),
      extras: body.subarray(0, extLen),
      key: body.subarray(extLen, extLen + keyLen),
      value: body.subarray(extLen + keyLen),
    });
    off += 24 + bodyLen;
  }
  return out;
}

/** Builds one binary request frame. */
export function binRequest(
  opcode: number,
  opts: { key?: string | Buffer; value?: string | Buffer; extras?: Buffer; opaque?: number; cas?: bigint } = {},
): Buffer {
  const key = Buffer.from(opts.key ?? '');
  const value = Buffer.from(opts.value ?? '');
  const extras = opts.extras ?? Buffer.alloc(0);
  const h = Buffer.alloc(24);
  h[0] = 0x80;
  h[1] = opcode;
  h.writeUInt16BE(key.length, 2);
  h[4] = extras.length;
  h.writeUInt32BE(extras.length + key.length + value.length, 8);
  h.writeUInt32BE(opts.opaque ?? 0, 12);
  h.writeBigUInt64BE(opts.cas ?? 0n, 16);
  return Buffer.concat([h, extras, key, value]);
}

export function saslPlain(username: string, password: string, opaque = 0): Buffer {
  return binRequest(0x21, { key: 'PLAIN', value: `\0${username}\0${password}`, opaque });
}

export function setExtras(flags = 0, exptime = 0): Buffer {
  const e = Buffer.alloc(8);
  e.writeUInt32BE(flags, 0);
  e.writeUInt32BE(exptime, 4);
  return e;
}
