/**
 * The one dispatch: every command kind a node supports goes to its handler here. A switch
 * rather than a table: V8 compiles it to compares on the (internalized) kind strings,
 * where a table lookup by kind was a megamorphic keyed load on every request. The
 * compiler rejects a new kind without a case (the `never` in default).
 */
import type { Command, GetCommand, Reply } from '../protocol/command.ts';
import { arith } from './commands/arithmetic.ts';
import { flush, ok, stats, version } from './commands/admin-commands.ts';
import { debug, get } from './commands/retrieval.ts';
import { remove, store, touch } from './commands/storage.ts';
import type { ExecContext } from './exec-context.ts';

const OK: Reply = Object.freeze({ kind: 'ok' });
const SASL_MECHS: Reply = Object.freeze({ kind: 'sasl-mechs', mechanisms: 'PLAIN' });

export function execute(cmd: Command, ctx: ExecContext): Reply {
  switch (cmd.kind) {
    case 'get': return get(cmd, ctx);
    case 'store': return store(cmd, ctx);
    case 'delete': return remove(cmd, ctx);
    case 'arith': return arith(cmd, ctx);
    case 'touch': return touch(cmd, ctx);
    case 'flush': return flush(cmd, ctx);
    case 'stats': return stats(cmd, ctx);
    case 'debug': return debug(cmd, ctx);
    case 'version': return version(cmd, ctx);
    case 'verbosity':
    case 'noop': return ok();
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
  return get(cmd, ctx, from);
}
