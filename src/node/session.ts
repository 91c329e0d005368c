/**
 * One client connection. Owns the receive buffer, runs the parse → execute → encode loop
 * and answers a whole pipelined batch with one socket write. Holds the login: which
 * cache and credential the connection acts as. Pauses reading while the socket's send
 * buffer is full, so a client that never reads cannot grow our memory.
 */
import type { Socket } from 'node:net';
import type { Command, ProtocolLimits, Reply, SaslAuthCommand } from '../protocol/command.ts';
import { parseSaslPlain } from '../protocol/binary/sasl-plain.ts';
import { ReplyBuffer } from '../protocol/reply-buffer.ts';
import type { ErrorCode } from '../shared/errors.ts';
import type { ExecContext, NodeInfo, SessionControl } from './exec-context.ts';
import { execute } from './execute.ts';
import { ANONYMOUS, type Credential, type Tenant, type TenantConnection, type Tenants } from './tenants.ts';
import { BINARY_MAGIC, BINARY_WIRE, TEXT_WIRE, type Wire } from './wire.ts';

export interface SessionOptions {
  readonly tenants: Tenants;
  readonly node: NodeInfo;
  readonly limits: ProtocolLimits;
  /** Close connections that have not logged in by then. */
  readonly authTimeoutMs: number;
  /** Serve unauthenticated connections from this cache with every capability. */
  readonly anonymousCacheId?: number;
  readonly onClose: (s: Session) => void;
}

/** Commands a connection may send before logging in. */
const PRE_AUTH: ReadonlySet<Command['kind']> = new Set(['sasl-list', 'sasl-auth', 'version', 'noop', 'quit', 'verbosity']);

const AUTHENTICATED: Reply = Object.freeze({ kind: 'authenticated' });

export class Session implements TenantConnection, SessionControl {
  credential: Credential | undefined;
  private tenant: Tenant | undefined;
  private wire: Wire<unknown> | undefined;
  private pending: Buffer | undefined;
  private skip = 0;
  private readonly out = new ReplyBuffer();
  private closing = false;
  private authTimer: NodeJS.Timeout | undefined;
  private now = 0;

  constructor(private readonly socket: Socket, private readonly opts: SessionOptions) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => socket.resume());
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.onClosed());
    const anon = opts.anonymousCacheId !== undefined ? opts.tenants.get(opts.anonymousCacheId) : undefined;
    if (anon && anon.enabled) this.attach(anon, ANONYMOUS);
    else this.authTimer = setTimeout(() => this.close('authentication timeout'), opts.authTimeoutMs).unref();
  }

  close(_reason: string): void {
    this.closing = true;
    this.socket.destroy();
  }

  quit(): void {
    this.closing = true;
  }

  /** SASL PLAIN (binary) and the MemCachier ASCII login both end here. */
  login(cmd: SaslAuthCommand): Reply {
    if (cmd.mechanism !== 'PLAIN') return { kind: 'error', code: 'AUTH_MECHANISM' };
    const plain = parseSaslPlain(cmd.data);
    if (!plain) return { kind: 'error', code: 'AUTH_FAILED' };
    return this.tryLogin(plain.username, plain.password) ? AUTHENTICATED : { kind: 'error', code: 'AUTH_FAILED' };
  }

  private tryLogin(username: string, password: string): boolean {
    const { tenants } = this.opts;
    const named = tenants.tenantOfUsername(username);
    if (named) named.store.counters.auth_cmds++;
    const ok = tenants.authenticate(username, password);
    if (!ok) {
      if (named) named.store.counters.auth_errors++;
      return false;
    }
    this.attach(ok.tenant, ok.credential);
    return true;
  }

  private attach(tenant: Tenant, credential: Credential): void {
    if (this.authTimer) clearTimeout(this.authTimer);
    this.authTimer = undefined;
    this.tenant?.connections.delete(this);
    this.tenant = tenant;
    this.credential = credential;
    tenant.connections.add(this);
    tenant.store.counters.total_connections++;
  }

  private onData(chunk: Buffer): void {
    if (this.closing) return;
    if (this.tenant) this.tenant.store.counters.bytes_read += chunk.length;
    if (this.skip > 0) {
      const n = Math.min(this.skip, chunk.length);
      this.skip -= n;
      chunk = chunk.subarray(n);
      if (chunk.length === 0) return;
    }
    let buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    this.wire ??= buf[0] === BINARY_MAGIC ? BINARY_WIRE : TEXT_WIRE;
    this.now = Math.floor(Date.now() / 1000);

    let offset = 0;
    while (offset < buf.length && !this.closing) {
      const view = offset === 0 ? buf : buf.subarray(offset);
      const r = this.wire.parse(view, this.opts.limits);
      if (r.type === 'incomplete') break;
      if (r.type === 'error') {
        // A binary error without a readable header (bad magic) has nobody to answer: just close.
        if (r.frame !== undefined || this.wire === TEXT_WIRE) this.wire.encodeError(r.code, this.out, r.frame);
        if (r.close) {
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
      this.wire.encode(r.frame, r.command, reply, this.out, this.now);
    }
    if (offset < buf.length && !this.closing) {
      // Keep the unparsed tail; copy it so the socket's chunk can be freed.
      this.pending = Buffer.from(buf.subarray(offset));
    }
    this.flush();
  }

  private run(command: Command): Reply {
    const { tenant, credential } = this;
    if (command.kind === 'store' && command.mode === 'set' && this.isLoginAttempt(command.key)) {
      return this.tryLogin(command.key.toString(), command.value.toString()) ? AUTHENTICATED : error('AUTH_FAILED');
    }
    if (!tenant || !credential) {
      return PRE_AUTH.has(command.kind) ? execute(command, this.context(tenant, credential)) : error('AUTH_REQUIRED');
    }
    return execute(command, this.context(tenant, credential));
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

  private context(tenant: Tenant | undefined, credential: Credential | undefined): ExecContext {
    // Pre-auth commands (version, sasl) never touch the tenant; give them a harmless stand-in.
    return {
      tenant: tenant as Tenant,
      credential: credential ?? NO_ACCESS,
      tenants: this.opts.tenants,
      node: this.opts.node,
      session: this,
      now: this.now,
    };
  }

  private flush(): void {
    if (this.out.length > 0) {
      const data = this.out.take();
      if (this.tenant) this.tenant.store.counters.bytes_written += data.length;
      if (!this.socket.write(data)) this.socket.pause();
    }
    if (this.closing && !this.socket.destroyed) this.socket.end();
  }

  private onClosed(): void {
    if (this.authTimer) clearTimeout(this.authTimer);
    this.tenant?.connections.delete(this);
    this.opts.onClose(this);
  }
}

const NO_ACCESS: Credential = Object.freeze({
  username: '', cacheId: -1, salt: '', hash: '', write: false, flush: false, api: false,
}) as Credential;

function error(code: ErrorCode): Reply {
  return { kind: 'error', code };
}
