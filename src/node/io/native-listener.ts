/**
 * The memcache port on the native socket loop: one epoll set per node, drained in
 * batches; each batch is one call into `onBatch`, which hands every event to its
 * connection. Reads land in one shared slab, valid only during the batch (Sessions copy
 * what they keep), which is why no per-read Buffer is allocated by the addon.
 */
import type { Connection, ConnectionHandlers } from './connection.ts';
import type { SocketLoopAddon, SocketLoopHandle } from './native-addon.ts';
import { bufferView } from '../../shared/buffer-view.ts';

const ACCEPT = 1;
const DATA = 2;
const CLOSED = 3;
const DRAIN = 4;
/** The peer half-closed (its FIN was read): nothing more is read, replies still go out. */
const END = 5;
/** Room for one batch of reads (each read takes up to 64 KiB). */
const SLAB_BYTES = 1024 * 1024;
/** Events per batch, 4 int32 each. */
const EVENT_RECORDS = 4096;
const BACKLOG = 511;

const IGNORE: ConnectionHandlers = { data() {}, drain() {}, end() {}, close() {} };

export class NativeListener {
  readonly port: number;
  private readonly loop: SocketLoopHandle;
  private readonly slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
  /** Where the slab lies, kept so a read's view is made without asking (see buffer-view.ts). */
  private readonly slabMemory = this.slab.buffer;
  private readonly slabBase = this.slab.byteOffset;
  private readonly events = new Int32Array(EVENT_RECORDS * 4);
  private readonly conns = new Map<number, NativeConnection>();
  private closed = false;
  /** Batches the loop handed to JS, and the events in them (a node's /metrics). */
  batches = 0;
  batchEvents = 0;

  constructor(
    readonly addon: SocketLoopAddon,
    host: string,
    port: number,
    private readonly onConnection: (c: Connection) => void,
    private readonly onError: (e: unknown) => void,
  ) {
    this.loop = addon.open(this.slab, this.events, (n) => this.onBatch(n));
    try {
      this.port = addon.listen(this.loop, host, port, BACKLOG)[1];
    } catch (e) {
      addon.shutdown(this.loop);
      throw e;
    }
  }

  get handle(): SocketLoopHandle {
    return this.loop;
  }

  forget(id: number): void {
    this.conns.delete(id);
  }

  /** Closes the listener and every connection still open (their `close` handlers run). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of [...this.conns.values()]) c.destroy();
    this.addon.shutdown(this.loop);
  }

  private onBatch(count: number): void {
    this.batches++;
    this.batchEvents += count;
    const ev = this.events;
    const now = Date.now();
    for (let i = 0; i < count; i++) {
      const at = i * 4;
      const type = ev[at]!;
      const id = ev[at + 1]!;
      try {
        if (type === ACCEPT) {
          const c = new NativeConnection(this, id);
          this.conns.set(id, c);
          this.onConnection(c);
          continue;
        }
        const c = this.conns.get(id);
        if (!c) continue;
        if (type === DATA) c.handlers.data(bufferView(this.slabMemory, this.slabBase + ev[at + 2]!, ev[at + 3]!), now);
        else if (type === DRAIN) c.handlers.drain();
        else if (type === CLOSED) c.peerClosed();
        else if (type === END) c.handlers.end();
      } catch (e) {
        // A bug costs this connection, never the node.
        this.onError(e);
        this.conns.get(id)?.destroy();
      }
    }
  }
}

class NativeConnection implements Connection {
  /** The addon sends a write, or copies what it cannot send yet, before returning. */
  readonly writesAreCopied = true;
  destroyed = false;
  handlers: ConnectionHandlers = IGNORE;
  private peer: string | undefined;

  constructor(private readonly listener: NativeListener, private readonly id: number) {}

  get remoteAddress(): string {
    this.peer ??= this.destroyed ? '' : this.listener.addon.peer(this.listener.handle, this.id);
    return this.peer;
  }

  bind(handlers: ConnectionHandlers): void {
    this.handlers = handlers;
  }

  write(data: Uint8Array): boolean {
    if (this.destroyed) return true;
    const r = this.listener.addon.write(this.listener.handle, this.id, data);
    if (r < 0) {
      this.destroy();
      return true;
    }
    return r === 1;
  }

  end(): void {
    if (!this.destroyed) this.listener.addon.end(this.listener.handle, this.id);
  }

  destroy(): void {
    if (this.destroyed) return;
    this.listener.addon.close(this.listener.handle, this.id);
    this.gone();
  }

  pause(): void {
    if (!this.destroyed) this.listener.addon.pause(this.listener.handle, this.id, true);
  }

  resume(): void {
    if (!this.destroyed) this.listener.addon.pause(this.listener.handle, this.id, false);
  }

  /** The addon closed it (peer gone or failed). */
  peerClosed(): void {
    if (!this.destroyed) this.gone();
  }

  private gone(): void {
    this.destroyed = true;
    this.listener.forget(this.id);
    // As with Node sockets, `close` comes after the current call stack.
    process.nextTick(() => this.handlers.close());
  }
}
