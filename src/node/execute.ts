/**
 * The one dispatch: every command kind a node supports goes to its handler here, the
 * cache's commands in `execute`, the session's (allowed before login) in
 * `executeSessionCommand`, which takes whatever `execute` has no case for. Switches rather
 * than a table, because V8 compiles them to compares on the (internalized) kind strings
 * where a table indexed by kind is a megamorphic keyed load on every request. The
 * compiler rejects a new kind without a case (the `never` in the last default).
 */
import type { Command, GetCommand, Reply } from '../protocol/command.ts';
import { arith } from './commands/arithmetic.ts';
import { flushAll, stats, version } from './commands/whole-cache.ts';
import { debug, get } from './commands/retrieval.ts';
import { metadump } from './commands/metadump.ts';
import { remove, store, touch } from './commands/storage.ts';
import type { ExecContext, SessionContext } from './exec-context.ts';
import { logRequest } from './request-log.ts';

const OK: Reply = Object.freeze({ kind: 'ok' });
const SASL_MECHS: Reply = Object.freeze({ kind: 'sasl-mechs', mechanisms: 'PLAIN' });

/** The commands a connection may send before it logs in: none of them touches a cache. */
export type SessionCommand = Extract<Command, { readonly kind: 'version' | 'verbosity' | 'noop' | 'quit' | 'sasl-list' | 'sasl-auth' }>;

const SESSION_KINDS: { readonly [K in SessionCommand['kind']]: true } = {
  version: true, verbosity: true, noop: true, quit: true, 'sasl-list': true, 'sasl-auth': true,
};

export function isSessionCommand(cmd: Command): cmd is SessionCommand {
  return Object.hasOwn(SESSION_KINDS, cmd.kind);
}

export function execute(cmd: Command, ctx: ExecContext): Reply {
  const reply = dispatch(cmd, ctx);
  // The cache's request ring (introspection) hears every command of a logged-in connection.
  const log = ctx.tenant.introspection;
  if (log !== null) logRequest(log, cmd, reply, 0, ctx.nowMs);
  return reply;
}

function dispatch(cmd: Command, ctx: ExecContext): Reply {
  switch (cmd.kind) {
    case 'get': return get(cmd, ctx);
    case 'store': return store(cmd, ctx);
    case 'delete': return remove(cmd, ctx);
    case 'arith': return arith(cmd, ctx);
    case 'touch': return touch(cmd, ctx);
    case 'flush': return flushAll(cmd, ctx);
    case 'stats': return stats(cmd, ctx);
    case 'debug': return debug(cmd, ctx);
    case 'metadump': return metadump(cmd, ctx);
    default: return executeSessionCommand(cmd, ctx);
  }
}

/** The commands of SessionCommand, logged in or not. */
export function executeSessionCommand(cmd: SessionCommand, ctx: SessionContext): Reply {
  switch (cmd.kind) {
    case 'version': return version(ctx);
    case 'verbosity':
    case 'noop': return OK;
    case 'quit':
      ctx.session.quit();
      return OK;
    case 'sasl-list': return SASL_MECHS;
    case 'sasl-auth': return ctx.session.login(cmd);
    default: {
      const unknown: never = cmd;
      throw new Error(`no handler for ${(unknown as Command).kind}`);
    }
  }
}

/** Goes on with a get whose reply stopped at key `from` (a streamed multi-key get). */
export function resumeGet(cmd: GetCommand, from: number, ctx: ExecContext): Reply {
  const reply = get(cmd, ctx, from);
  const log = ctx.tenant.introspection;
  if (log !== null) logRequest(log, cmd, reply, from, ctx.nowMs);
  return reply;
}
