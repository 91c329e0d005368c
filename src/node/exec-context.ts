/**
 * What command handlers may use. Before login a connection has no cache, and the type
 * says so: the commands it may send then (execute.ts, executeSessionCommand) get a
 * SessionContext, which has no tenant; every other handler gets an ExecContext.
 */
import type { Reply, SaslAuthCommand } from '../protocol/command.ts';
import type { NodeLimits } from './limits.ts';
import type { Credential, Tenant, Tenants } from './tenants.ts';

export interface NodeInfo {
  readonly version: string;
  /** Unix seconds the node started. */
  readonly startedAt: number;
  /** The limits this node enforces (`stats settings` reports the request sizes). */
  readonly limits: NodeLimits;
  /** How the memcache port does its socket I/O (`stats settings` reports it as `io`). */
  readonly io: 'native' | 'stream';
}

/** Connection-level actions a few commands need (login, quit). */
export interface SessionControl {
  login(command: SaslAuthCommand): Reply;
  quit(): void;
}

/** What a command a connection may send before it logs in can use: nothing of a cache. */
export interface SessionContext {
  readonly node: NodeInfo;
  readonly session: SessionControl;
}

/** What a command handler of a logged-in connection may use: its cache, its credential, the clock. */
export interface ExecContext extends SessionContext {
  readonly tenant: Tenant;
  readonly credential: Credential;
  readonly tenants: Tenants;
  /** Unix seconds. */
  readonly now: number;
  /** Milliseconds since the epoch, read once per batch of requests (the request log's time). */
  readonly nowMs: number;
  /** Reply bytes the connection may still queue before a multi-key get pauses (see retrieval.ts). */
  readonly replyRoom: number;
}
