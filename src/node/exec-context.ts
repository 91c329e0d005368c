/** What a command handler may use: the logged-in cache, its credential, the clock, the node. */
import type { ProtocolLimits, Reply, SaslAuthCommand } from '../protocol/command.ts';
import type { Credential, Tenant, Tenants } from './tenants.ts';

export interface NodeInfo {
  readonly version: string;
  /** Unix seconds the node started. */
  readonly startedAt: number;
  /** The protocol limits this node enforces (reported by `stats settings`). */
  readonly limits: ProtocolLimits;
  /** How the memcache port does its socket I/O (`stats settings` reports it as `io`). */
  readonly io: 'native' | 'stream';
}

/** Connection-level actions a few commands need (login, quit). */
export interface SessionControl {
  login(command: SaslAuthCommand): Reply;
  quit(): void;
}

export interface ExecContext {
  readonly tenant: Tenant;
  readonly credential: Credential;
  readonly tenants: Tenants;
  readonly node: NodeInfo;
  readonly session: SessionControl;
  /** Unix seconds. */
  readonly now: number;
  /** Reply bytes the connection may still queue before a multi-key get pauses (see retrieval.ts). */
  readonly replyRoom: number;
}
