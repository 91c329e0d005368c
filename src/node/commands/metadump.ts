import type { DumpItem, MetadumpCommand, Reply } from '../../protocol/command.ts';
import { ITEM_OVERHEAD } from '../../store/item-cost.ts';
import type { ExecContext } from '../exec-context.ts';
import { API_FORBIDDEN, INTROSPECTION_DISABLED } from './refusals.ts';

/** Items one part of a dump holds at most: well under a millisecond of walking and encoding. */
const PART_ITEMS = 500;
/** Items asked of each walk call (each visits a bounded number of slots, see walk.ts). */
const WALK_LIMIT = 250;
/** Walk calls one part makes at most, so a sparse or mostly expired cache still yields often. */
const PART_WALKS = 16;
/** Fewest bytes a line takes beyond its key (`key=` … ` size=NN\n` with one-digit numbers). */
const LINE_BYTES = 46;

/**
 * `lru_crawler metadump`: every live item of the connection's own cache, never another's
 * (the store walked is the logged-in tenant's). Keys are introspection (issue 14): only a
 * credential with api_capability may list them (anonymous mode has every capability), and
 * not when the operator switched introspection off for the cache or the node; both are
 * checked for every part, so a change made mid-dump ends it with the refusal. Answered in
 * parts from `from` (a walk cursor): a part stops after PART_ITEMS items, PART_WALKS walk
 * calls, or the connection's reply room, and the session goes on from `next` once the
 * client has read it (session.ts, the way a multi-key get streams), so a big cache never
 * holds up the node's other connections or queues more than the reply cap.
 */
export function metadump(cmd: MetadumpCommand, ctx: ExecContext, from = 0): Reply {
  if (!ctx.credential.api) return API_FORBIDDEN;
  if (ctx.tenant.introspection === null) return INTROSPECTION_DISABLED;
  if (!cmd.all) return { kind: 'metadump', items: [], itemOverhead: ITEM_OVERHEAD, next: null };
  const store = ctx.tenant.store;
  const items: DumpItem[] = [];
  let room = ctx.replyRoom;
  let cursor = from;
  for (let walks = 0; walks < PART_WALKS; walks++) {
    const page = store.walk(cursor, WALK_LIMIT, ctx.now);
    for (const item of page.items) {
      items.push(item);
      room -= item.key.length * 3 + LINE_BYTES;
    }
    if (page.next === null) return { kind: 'metadump', items, itemOverhead: ITEM_OVERHEAD, next: null };
    cursor = page.next;
    if (items.length >= PART_ITEMS || room <= 0) break;
  }
  return { kind: 'metadump', items, itemOverhead: ITEM_OVERHEAD, next: cursor };
}
