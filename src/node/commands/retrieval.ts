import type { DebugCommand, GetCommand, ItemView, Reply } from '../../protocol/command.ts';
import type { ExecContext } from '../exec-context.ts';
import { WRITE_FORBIDDEN } from './refusals.ts';

/**
 * Answers the keys of a get from `from` on. It stops after the value that uses up the
 * connection's reply room (`ctx.replyRoom`), and the reply's `rest` says where to go on
 * once the client has read what is queued: a multi-key get is streamed, so one request
 * can never make a connection hold more than its reply cap plus one item.
 */
export function get(cmd: GetCommand, ctx: ExecContext, from = 0): Reply {
  const { store } = ctx.tenant;
  const { keys, touchExptime } = cmd;
  const n = keys.length;
  // get-and-touch changes expiry, so it is a mutation like touch.
  if (touchExptime !== undefined && !ctx.credential.write) return WRITE_FORBIDDEN;
  const items: (ItemView | null)[] = new Array(n - from);
  let room = ctx.replyRoom;
  for (let i = from; i < n; i++) {
    const item = touchExptime === undefined
      ? store.get(keys[i]!, ctx.now)
      : store.getAndTouch({ key: keys[i]!, exptime: touchExptime }, ctx.now);
    items[i - from] = item;
    if (item !== null && (room -= item.value.length) <= 0 && i + 1 < n) {
      items.length = i + 1 - from;
      return { kind: 'values', items, rest: i + 1 };
    }
  }
  return { kind: 'values', items, rest: 0 };
}

export function debug(cmd: DebugCommand, ctx: ExecContext): Reply {
  return { kind: 'debug', item: ctx.tenant.store.peek(cmd.key, ctx.now), now: ctx.now };
}
