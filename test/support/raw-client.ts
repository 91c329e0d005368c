/** A bare TCP (or TLS) client for black-box tests: send exact bytes, read exactly what comes back. */
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { readResponses, type Response } from '../../src/protocol/binary/testing/frames.ts';
import { PROMPTLY_MS } from './wait.ts';

export class RawClient {
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;
  readonly closedPromise: Promise<void>;

  private constructor(readonly socket: Socket) {
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

  /** `localAddress`: connect from this address (a loopback alias stands for another client host). */
  static connect(port: number, host = '127.0.0.1', localAddress?: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host, localAddress }, () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  /** Over TLS, verifying the node's certificate against `ca`; `socket.authorized` says whether it passed. */
  static connectTls(port: number, ca: string | Buffer, host = '127.0.0.1'): Promise<RawClient & { readonly socket: TLSSocket }> {
    return new Promise((resolve, reject) => {
      const s = tlsConnect({ host, port, ca }, () => resolve(new RawClient(s) as RawClient & { readonly socket: TLSSocket }));
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

  /** Sends a text request and reads its one-line reply, or 'closed' when the server closes first; throws at the deadline. */
  async textOrClosed(request: string | Buffer): Promise<string | 'closed'> {
    try {
      return await this.text(request);
    } catch (e) {
      if (this.closed) return 'closed';
      throw e;
    }
  }

  /** Reads `n` binary responses (24-byte header + body each); build requests with src/protocol/binary/testing/frames.ts. */
  async binary(n = 1, timeoutMs = PROMPTLY_MS): Promise<BinaryResponse[]> {
    const raw = await this.readUntil((b) => countFrames(b) >= n, timeoutMs);
    return readResponses(raw).responses;
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

export type BinaryResponse = Response;

/** How many whole binary responses `b` holds. */
function countFrames(b: Buffer): number {
  return readResponses(b).responses.length;
}
