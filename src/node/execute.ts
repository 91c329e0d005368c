/**
 * The one dispatch table: every command kind a node supports maps to its handler here.
 * The compiler rejects a new kind without a handler.
 */
import type { Command, CommandKind, Reply } from '../protocol/command.ts';
import { arith } from './commands/arithmetic.ts';
import { flush, ok, stats, version } from './commands/admin-commands.ts';
import { debug, get } from './commands/retrieval.ts';
import { remove, store, touch } from './commands/storage.ts';
import type { ExecContext } from './exec-context.ts';

type Handler<K extends CommandKind> = (cmd: Extract<Command, { kind: K }>, ctx: ExecContext) => Reply;

const HANDLERS: { readonly [K in CommandKind]: Handler<K> } = {
  get,
  store,
  delete: remove,
  arith,
  touch,
  flush,
  stats,
  debug,
  version,
  verbosity: ok,
  noop: ok,
  quit: (_cmd, ctx) => {
    ctx.session.quit();
    return { kind: 'ok' };
  },
  'sasl-list': () => ({ kind: 'sasl-mechs', mechanisms: 'PLAIN' }),
  'sasl-auth': (cmd, ctx) => ctx.session.login(cmd),
};

export function execute(cmd: Command, ctx: ExecContext): Reply {
  return (HANDLERS[cmd.kind] as Handler<CommandKind>)(cmd as never, ctx);
}
