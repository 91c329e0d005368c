import type { DebugCommand, GetCommand, ItemView, Reply } from '../../protocol/command.ts';
import type { ExecContext } from '../exec-context.ts';
import { WRITE_FORBIDDEN } from './refusals.ts';

export function get(cmd: GetCommand, ctx: ExecContext): Reply {
  const { store } = ctx.tenant;
  const items: (ItemView | null)[] = new Array(cmd.keys.length);
  if (cmd.touchExptime === undefined) {
    for (let i = 0; i < cmd.keys.length; i++) items[i] = store.get(cmd.keys[i]!, ctx.now);
  } else {
    // get-and-touch changes expiry, so it is a mutation like touch.
    if (!ctx.credential.write) return WRITE_FORBIDDEN;
    for (let i = 0; i < cmd.keys.length; i++) items[i] = store.getAndTouch(cmd.keys[i]!, cmd.touchExptime, ctx.now);
  }
  return { kind: 'values', items };
}

export function debug(cmd: DebugCommand, ctx: ExecContext): Reply {
  return { kind: 'debug', item: ctx.tenant.store.peek(cmd.key, ctx.now), now: ctx.now };
}
