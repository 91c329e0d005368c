/**
 * One client connection. Owns the receive buffer, runs the parse → execute → encode loop
 * and answers a whole pipelined batch with one socket write. Holds the login: which
 * cache and credential the connection acts as.
 *
 * A client that never reads cannot grow our memory: reading pauses while the socket's
 * send buffer is full, and the parse loop stops taking requests from what it has already
 * read once `replyQueueBytes` of replies are waiting; a multi-key get stops between two
 * values at that point (its reply is streamed). It all goes on after the client drains
 * them. So a connection holds at most one read's worth of requests and that much of
 * replies plus one item; what its cache's connections hold of partly received frames is
 * bounded together (receive-budget.ts). One connection's batch yields to the others after
 * a slice of CPU time (SLICE_MS), whatever its requests cost (a 1 MiB append copies 1 MiB
 * for 24 bytes sent). Before login it may send only login-sized frames
 * (PRE_LOGIN_LIMITS); a bigger one closes it. A failed login is answered after the
 * throttle's delay (login-throttle.ts), and nothing more is read meanwhile. Idle
 * connections are found by the node's once-a-second sweep (`sweep`), from a timestamp the
 * data path already takes: nothing per request.
 *
 * A client that half-closes (sends its FIN after its requests) is answered every request
 * read, as memcached does: the connection is ended once nothing read is left unanswered
 * (checked where a batch finishes, not per request), after its replies are sent. One that
 * does not read them holds the connection no longer than a client that never reads at all:
 * the idle timeout while requests wait (reading is paused, so the transport may not even
 * see the FIN yet), `closingGraceMs` once it is being ended.
 */
import type { Command, GetCommand, MetadumpCommand, Reply, SaslAuthCommand } from '../protocol/command.ts';
import { parseSaslPlain } from '../protocol/binary/sasl-plain.ts';
import { ReplyBuffer } from '../protocol/reply-buffer.ts';
import { bufferView, viewOf } from '../shared/buffer-view.ts';
import type { ErrorCode } from '../shared/errors.ts';
import type { DelayedFailure, LoginThrottle } from '../shared/login-throttle.ts';
import type { ConnectionSlots } from './connection-slots.ts';
import type { LimitName, NodeEvents } from './node-events.ts';
import type { ExecContext, NodeInfo, SessionContext, SessionControl } from './exec-context.ts';
import { execute, executeSessionCommand, isSessionCommand, resumeGet } from './execute.ts';
import { metadump } from './commands/metadump.ts';
import { Inbox } from './inbox.ts';
import { CMD, ST } from '../introspection/request-ring.ts';
import { logRefused } from './request-log.ts';
import type { Receiver } from './receive-budget.ts';
import { PRE_LOGIN_LIMITS, type NodeLimits } from './limits.ts';
import { ANONYMOUS, type Credential, type Tenant, type TenantConnection, type Tenants } from './tenants.ts';
import type { Connection } from './io/connection.ts';
import { BINARY_MAGIC, BINARY_WIRE, TEXT_WIRE, type Wire } from './wire.ts';

export interface SessionOptions {
  readonly tenants: Tenants;
  readonly node: NodeInfo;
  /** Request sizes, connection limits and timeouts (limits.ts); the node's `node.limits`. */
  readonly limits: NodeLimits;
  readonly throttle: LoginThrottle;
  /** The node's connection slots: logged-in and waiting-to-log-in (connection-slots.ts). */
  readonly slots: ConnectionSlots;
  /** Serve unauthenticated connections from this cache with every capability. */
  readonly anonymousCacheId?: number;
  /** Counts failed logins and limits hit for the node's log (failure paths only). */
  readonly events?: NodeEvents;
  /** For unexpected failures; never given request data or secrets. */
  readonly onError?: (e: unknown) => void;
  readonly onClose: (s: Session) => void;
}

/** The limit behind each refusal `attach` answers. */
const LIMIT_OF: Partial<Record<ErrorCode, LimitName>> = { CACHE_CONNECTIONS: 'max_cache_connections', TOO_MANY_CONNECTIONS: 'max_connections' };

const AUTHENTICATED: Reply = Object.freeze({ kind: 'authenticated' });
const AUTH_REQUIRED: Reply = Object.freeze({ kind: 'error', code: 'AUTH_REQUIRED' });

/** A reply buffer grown past this for one big reply is replaced rather than kept. */
const REPLY_BUFFER_KEEP = 1024 * 1024;
/** CPU time one connection's batch may take before it yields to the others (checked every few requests). */
const SLICE_MS = 2;
const SLICE_CHECK_EVERY = 8;

export class Session implements TenantConnection, SessionControl, Receiver {
  credential: Credential | undefined;
  private tenant: Tenant | undefined;
  private wire: Wire<unknown> | undefined;
  /** Bytes read but not yet parsed (empty on the common path: a read holds whole requests). */
  private readonly inbox = new Inbox();
  /** Paused by its cache's receive budget until others finish their frames. */
  private receiveWait = false;
  private skip = 0;
  private out = new ReplyBuffer();
  private closing = false;
  /** When the last bytes were queued on a closing connection (see sweep). */
  private closingSince = 0;
  /** A write did not fit the socket's buffer: nothing more is parsed until 'drain'. */
  private blocked = false;
  /** The parse loop stopped (reply cap, CPU slice) with work left (`inbox`, `unfinished`). */
  private stalled = false;
  /**
   * A reply that stopped part way: a multi-key get at the cap (`from` its next key), a
   * metadump after a part (`from` its walk cursor). It goes on before anything else.
   */
  private unfinished: { frame: unknown; command: GetCommand | MetadumpCommand; from: number } | undefined;
  /** A failed login's answer waits out its delay; nothing is sent or read meanwhile. */
  private held: DelayedFailure | undefined;
  private heldTimer: NodeJS.Timeout | undefined;
  /** The peer half-closed: nothing more will be read; end once all read is answered. */
  private peerEnded = false;
  /** It has sent bytes (waiting connections that have not are displaced first). */
  private spoke = false;
  private authTimer: NodeJS.Timeout | undefined;
  private now = 0;
  /** Milliseconds of the last request read or blocked reply drained. */
  private lastActive = Date.now();
  /** What the commands allowed before login see: no cache. */
  private readonly sessionContext: SessionContext;
  /**
   * What command handlers see once logged in: one object per connection, made at login and
   * refreshed per command rather than allocated (hot path). Handlers run synchronously and
   * never keep it.
   */
  private ctx: Mutable<ExecContext> | undefined;

  constructor(private readonly socket: Connection, private readonly opts: SessionOptions) {
    this.sessionContext = { node: opts.node, session: this };
    socket.bind({
      data: (chunk, ms) => this.onData(chunk, ms),
      drain: () => this.onDrain(),
      end: () => this.onEnd(),
      close: () => this.onClosed(),
    });
    const anon = opts.anonymousCacheId !== undefined ? opts.tenants.get(opts.anonymousCacheId) : undefined;
    if (anon && anon.enabled) {
      const refused = this.attach(anon, ANONYMOUS);
      if (refused) {
        this.opts.events?.limitHit(LIMIT_OF[refused] ?? 'max_connections', socket.remoteAddress, anon.id);
        // Not yet known which protocol the client speaks: answer as text, as on the node limit.
        TEXT_WIRE.encodeError(refused, this.out);
        this.closing = true;
        this.sendReplies();
      }
    } else {
      opts.slots.wait(this, socket.remoteAddress);
      this.authTimer = setTimeout(() => {
        opts.events?.limitHit('auth_timeout', socket.remoteAddress);
        this.close('authentication timeout');
      }, opts.limits.authTimeoutMs).unref();
    }
  }

  close(_reason: string): void {
    this.closing = true;
    this.socket.destroy();
  }

  /** Called by the node about once a second: closes idle connections and ones stuck closing. */
  sweep(nowMs: number): void {
    if (this.socket.destroyed) return;
    if (this.closingSince !== 0) {
      if (nowMs - this.closingSince > this.opts.limits.closingGraceMs) this.socket.destroy();
      return;
    }
    const idle = this.opts.limits.idleTimeoutMs;
    if (idle > 0 && nowMs - this.lastActive >= idle) this.close('idle timeout');
  }

  quit(): void {
    this.closing = true;
  }

  /** SASL PLAIN (binary) and the MemCachier ASCII login both end here. */
  login(cmd: SaslAuthCommand): Reply {
    if (cmd.mechanism !== 'PLAIN') return { kind: 'error', code: 'AUTH_MECHANISM' };
    const plain = parseSaslPlain(cmd.data);
    if (!plain) return { kind: 'error', code: 'AUTH_FAILED' };
    return this.tryLogin(plain.username, plain.password);
  }

  /**
   * Checks a login and attaches the connection to its cache; answers the reply for either
   * login form. A right password gets in at once. A wrong one (or an unknown username)
   * is answered after the throttle's delay, or the connection is closed unanswered when
   * its source has too many failures waiting. A login refused for a connection limit
   * closes the connection.
   */
  private tryLogin(username: string, password: string): Reply {
    const { tenants, throttle } = this.opts;
    const named = tenants.tenantOfUsername(username);
    if (named) named.store.counters.auth_cmds++;
    const ok = tenants.authenticate(username, password);
    if (!ok) {
      if (named) named.store.counters.auth_errors++;
      const failure = throttle.fail(this.socket.remoteAddress, username);
      this.opts.events?.loginFailed(this.socket.remoteAddress, username, named?.id, failure === undefined);
      if (failure) this.hold(failure);
      else this.close('too many failed logins waiting from this address');
      return error('AUTH_FAILED');
    }
    const refused = this.attach(ok.tenant, ok.credential);
    if (refused) {
      this.opts.events?.limitHit(LIMIT_OF[refused] ?? 'max_connections', this.socket.remoteAddress, ok.tenant.id);
      this.closing = true;
      return error(refused);
    }
    return AUTHENTICATED;
  }

  /** Makes the connection act as `credential`, or says which limit refuses it. */
  private attach(tenant: Tenant, credential: Credential): ErrorCode | undefined {
    if (tenant !== this.tenant && tenant.connections.size >= this.opts.limits.maxCacheConnections) {
      this.opts.slots.counts.refusedForCache++;
      return 'CACHE_CONNECTIONS';
    }
    if (!this.opts.slots.login(this)) return 'TOO_MANY_CONNECTIONS';
    if (this.authTimer) clearTimeout(this.authTimer);
    this.authTimer = undefined;
    this.tenant?.connections.delete(this);
    this.tenant?.receive.release(this);
    this.tenant = tenant;
    this.credential = credential;
    if (this.ctx === undefined) {
      this.ctx = { tenant, credential, tenants: this.opts.tenants, node: this.opts.node, session: this, now: 0, nowMs: 0, replyRoom: 0 };
    } else {
      this.ctx.tenant = tenant;
      this.ctx.credential = credential;
    }
    tenant.connections.add(this);
    tenant.store.counters.total_connections++;
    // The cache's request log shows logins (only successful ones: a stranger's failures must not push its lines out).
    tenant.introspection?.log(Date.now(), CMD.AUTH, ST.OK, null, 0);
    return undefined;
  }

  /** Withholds what is queued (a failed login's answer) for the failure's delay. */
  private hold(failure: DelayedFailure): void {
    this.held = failure;
    this.heldTimer = setTimeout(() => {
      this.heldTimer = undefined;
      this.held = undefined;
      failure.release();
      this.sendReplies();
      this.resumeParsing();
    }, failure.delayMs);
  }

  private onData(chunk: Buffer, ms: number): void {
    if (this.closing) return;
    if (this.credential === undefined && !this.spoke) {
      this.spoke = true;
      this.opts.slots.heard(this);
    }
    this.lastActive = ms;
    this.now = Math.floor(ms / 1000);
    if (this.tenant) this.tenant.store.counters.bytes_read += chunk.length;
    if (this.skip > 0) {
      const n = Math.min(this.skip, chunk.length);
      this.skip -= n;
      chunk = viewOf(chunk, n, chunk.length);
      if (chunk.length === 0) return;
    }
    this.wire ??= chunk[0] === BINARY_MAGIC ? BINARY_WIRE : TEXT_WIRE;
    if (this.inbox.size === 0 && !this.blocked && !this.stalled && !this.held) {
      // The common path: requests straight from the transport's buffer, nothing copied.
      this.process(chunk, false);
      return;
    }
    this.inbox.append(chunk);
    this.holdReceived();
    // Paused, but a chunk was already on its way: kept for after the pause.
    if (this.blocked || this.stalled || this.held) return;
    this.process(this.inbox.view(), true);
  }

  /**
   * Parses, runs and answers the requests in `buf` until it ends, the reply queue is full
   * or the batch used its CPU slice. `buf` is the inbox's view, or else a transport
   * buffer whose unparsed tail goes to the inbox.
   */
  private process(buf: Buffer, fromInbox: boolean): void {
    const wire = this.wire!;
    const queueCap = this.opts.limits.replyQueueBytes;
    const sliceStart = performance.now();
    let ran = 0;
    let offset = 0;
    /** The length of the frame left unfinished, when its header told it. */
    let need = 0;
    // Where buf lies, read once for the views of a pipelined batch (see buffer-view.ts).
    let memory: ArrayBufferLike | undefined;
    let base = 0;
    try {
      while (offset < buf.length && !this.closing && this.held === undefined) {
        if (this.out.length >= queueCap) {
          this.stalled = true;
          break;
        }
        let view = buf;
        if (offset > 0) {
          if (memory === undefined) {
            memory = buf.buffer;
            base = buf.byteOffset;
          }
          view = bufferView(memory, base + offset, buf.length - offset);
        }
        const loggedIn = this.credential !== undefined;
        const r = wire.parse(view, loggedIn ? this.opts.limits : PRE_LOGIN_LIMITS);
        if (r.type === 'incomplete') {
          need = r.need ?? 0;
          break;
        }
        if (r.type === 'error') {
          // A binary error without a readable header (bad magic) has nobody to answer: just close.
          if (r.frame !== undefined || wire === TEXT_WIRE) wire.encodeError(r.code, this.out, r.frame);
          // A refused command reaches the cache's request log too (it never reaches the dispatch).
          if (r.family !== undefined && loggedIn && this.tenant!.introspection !== null) {
            logRefused(this.tenant!.introspection, r.family, r.key, this.lastActive);
          }
          // Before login a frame too big to be a login is not buffered or skipped: the connection goes.
          if (r.close || (!loggedIn && r.skip)) {
            this.closing = true;
            break;
          }
          offset += r.consumed;
          if (r.skip) {
            const n = Math.min(r.skip, buf.length - offset);
            offset += n;
            this.skip = r.skip - n;
          }
          continue;
        }
        offset += r.consumed;
        const reply = this.run(r.command);
        wire.encode(r.frame, r.command, reply, this.out, this.now);
        if (reply.kind === 'values') {
          if (reply.rest > 0) {
            // Its keys are views into buffers reused before it goes on: copy the ones left.
            const { span: _inReceiveBuffer, ...get } = r.command as GetCommand;
            const keys = copyKeys(get.keys, reply.rest);
            this.unfinished = { frame: r.frame, command: { ...get, keys }, from: 0 };
            this.stalled = true;
            break;
          }
        } else if (reply.kind === 'metadump' && reply.next !== null) {
          this.unfinished = { frame: r.frame, command: r.command as MetadumpCommand, from: reply.next };
          this.stalled = true;
          break;
        }
        if (++ran % SLICE_CHECK_EVERY === 0 && performance.now() - sliceStart > SLICE_MS) {
          this.stalled = true;
          break;
        }
      }
    } catch (e) {
      // A bug must cost this connection, never the node.
      this.opts.onError?.(e);
      this.closing = true;
    }
    if (this.closing) {
      this.inbox.clear();
    } else if (fromInbox) {
      this.inbox.consume(offset);
      if (need > 0) this.reserveFrame(need);
    } else if (offset < buf.length) {
      if (need > 0) this.reserveFrame(need);
      // The transport reuses the buffer it read into: the unparsed tail is copied.
      this.inbox.append(buf, offset);
    }
    if (fromInbox || offset < buf.length) this.holdReceived();
    if (!this.closing && this.unfinished === undefined && !(this.stalled && this.inbox.size > 0)) this.stalled = false;
    this.sendReplies();
  }

  /** Sizes the inbox for a whole frame at once, when the cache's receive budget has room for it. */
  private reserveFrame(need: number): void {
    const budget = this.tenant?.receive;
    if (budget === undefined || budget.allows(this, need)) this.inbox.reserve(need);
  }

  /** Tells the cache's receive budget the memory this connection holds unparsed; pauses reading when over. */
  private holdReceived(): void {
    const budget = this.tenant?.receive;
    if (!budget) return;
    const ok = budget.hold(this, this.inbox.footprint);
    if (!ok && !this.receiveWait) {
      this.receiveWait = true;
      this.socket.pause();
    } else if (ok && this.receiveWait) {
      this.resumeReceiving();
    }
  }

  /** The cache's receive budget has room again. */
  resumeReceiving(): void {
    if (!this.receiveWait) return;
    this.receiveWait = false;
    if (!this.closing && !this.blocked && !this.stalled && !this.held) this.socket.resume();
  }

  /** Goes on with a streamed reply: a multi-key get's next values up to the cap again, or a metadump's next part. */
  private continueGet(): void {
    const u = this.unfinished!;
    this.unfinished = undefined;
    try {
      const ctx = this.context(this.ctx!);
      const command = u.command;
      const reply = command.kind === 'get' ? resumeGet(command, u.from, ctx) : metadump(command, ctx, u.from);
      this.wire!.encode(u.frame, command, reply, this.out, this.now);
      if (reply.kind === 'values' && reply.rest > 0) this.unfinished = { ...u, from: reply.rest };
      else if (reply.kind === 'metadump' && reply.next !== null) this.unfinished = { ...u, from: reply.next };
    } catch (e) {
      this.opts.onError?.(e);
      this.closing = true;
    }
  }

  private onDrain(): void {
    this.lastActive = Date.now();
    this.blocked = false;
    this.resumeParsing();
  }

  /**
   * The peer sent its FIN: no more requests. Ends the connection now when every request
   * read is answered; else the batch under way does it when it finishes (resumeParsing).
   */
  private onEnd(): void {
    if (this.closing || this.peerEnded) return;
    this.peerEnded = true;
    // Stopped with work left (stalled), a failed login's answer held, or requests read
    // behind a full socket: resumeParsing goes on and ends it. A partial frame left in
    // the inbox otherwise will never be completed.
    if (this.stalled || this.unfinished !== undefined || this.held !== undefined || (this.blocked && this.inbox.size > 0)) return;
    this.endAnswered();
  }

  /** Everything the half-closed peer sent is answered: close once the replies are sent. */
  private endAnswered(): void {
    this.closing = true;
    this.inbox.clear();
    // What it held of half a request no longer counts against its cache's budget.
    this.tenant?.receive.release(this);
    this.sendReplies();
  }

  /** Goes on with what was read but not yet answered (a batch that stopped), then reads again. */
  private resumeParsing(): void {
    if (this.closing || this.blocked || this.held) return;
    this.stalled = false;
    if (this.unfinished) {
      this.continueGet();
      this.stalled = this.unfinished !== undefined;
      if (this.stalled || this.inbox.size === 0) {
        this.sendReplies();
        if (this.blocked || this.stalled || this.closing) return;
      }
    }
    if (this.inbox.size > 0) {
      this.process(this.inbox.view(), true);
      if (this.blocked || this.stalled || this.closing || this.held) return;
    }
    if (this.peerEnded) this.endAnswered();
    else if (!this.receiveWait) this.socket.resume();
  }

  private run(command: Command): Reply {
    if (command.kind === 'store' && command.mode === 'set' && this.isLoginAttempt(command.key)) {
      return this.tryLogin(command.key.toString(), command.value.toString());
    }
    const ctx = this.ctx;
    if (ctx === undefined) {
      return isSessionCommand(command) ? executeSessionCommand(command, this.sessionContext) : AUTH_REQUIRED;
    }
    return execute(command, this.context(ctx));
  }

  /**
   * MemCachier's ASCII login is `set <username> 0 0 <len>` + password. Before login every
   * text set is one; in anonymous mode only a set naming a known username is.
   */
  private isLoginAttempt(key: Buffer): boolean {
    if (this.wire !== TEXT_WIRE) return false;
    if (!this.credential) return true;
    return this.credential === ANONYMOUS && this.opts.tenants.tenantOfUsername(key.toString()) !== undefined;
  }

  /** The logged-in context, brought up to this command's clock and reply room. */
  private context(ctx: Mutable<ExecContext>): ExecContext {
    ctx.now = this.now;
    ctx.nowMs = this.lastActive;
    ctx.replyRoom = this.opts.limits.replyQueueBytes - this.out.length;
    return ctx;
  }

  /** Sends what the replies queued, or holds it (a failed login's delay); closes once sent when closing. */
  private sendReplies(): void {
    if (this.held && !this.closing) {
      this.socket.pause();
      return;
    }
    if (this.out.length > 0) {
      const data = this.out.take();
      if (data.length > REPLY_BUFFER_KEEP) this.out = new ReplyBuffer();
      if (this.tenant) this.tenant.store.counters.bytes_written += data.length;
      if (!this.socket.write(data)) this.blocked = true;
      if (this.socket.writesAreCopied) this.out.rewind();
    }
    if (this.closing) {
      if (!this.socket.destroyed && this.closingSince === 0) {
        this.closingSince = Date.now();
        this.socket.end();
      }
      return;
    }
    if (this.blocked || this.stalled) {
      this.socket.pause();
      // Stopped at the cap but the socket took it all: no 'drain' will come, so go on soon.
      if (!this.blocked) setImmediate(() => this.resumeParsing());
    }
  }

  private onClosed(): void {
    this.closing = true;
    this.inbox.clear();
    this.tenant?.receive.release(this);
    this.unfinished = undefined;
    if (this.authTimer) clearTimeout(this.authTimer);
    if (this.heldTimer) clearTimeout(this.heldTimer);
    this.held?.release();
    this.held = undefined;
    this.opts.slots.release(this);
    this.tenant?.connections.delete(this);
    this.opts.onClose(this);
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function error(code: ErrorCode): Reply {
  return { kind: 'error', code };
}

/**
 * Copies keys[from..] into one buffer, a byte apart, and returns views of it: the keys
 * stay as a parsed request's are, in order in one buffer (the request log copies them
 * as one span, request-ring.ts).
 */
function copyKeys(keys: readonly Buffer[], from: number): Buffer[] {
  let size = 0;
  for (let i = from; i < keys.length; i++) size += keys[i]!.length + 1;
  const all = Buffer.allocUnsafe(size);
  const out: Buffer[] = [];
  let at = 0;
  for (let i = from; i < keys.length; i++) {
    const k = keys[i]!;
    all.set(k, at);
    all[at + k.length] = 0x20;
    out.push(all.subarray(at, at + k.length));
    at += k.length + 1;
  }
  return out;
}
