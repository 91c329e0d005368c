/** flush_all, stats, version: commands about the whole cache or the node rather than one key. */
import type { FlushCommand, Reply, StatsCommand } from '../../protocol/command.ts';
import { resetCounters } from '../../store/stats.ts';
import type { ExecContext, SessionContext } from '../exec-context.ts';
import { FLUSH_FORBIDDEN, STATS_RESET_FORBIDDEN } from './refusals.ts';

const OK: Reply = Object.freeze({ kind: 'ok' });

export function flushAll(cmd: FlushCommand, ctx: ExecContext): Reply {
  if (!ctx.credential.flush) return FLUSH_FORBIDDEN;
  ctx.tenant.store.flushAll(cmd, ctx.now);
  return OK;
}

/** `stats` shows this cache's numbers only, never the node's or another cache's. */
export function stats(cmd: StatsCommand, ctx: ExecContext): Reply {
  const { tenant, now, node } = ctx;
  switch (cmd.group) {
    case '': {
      const entries: [string, number | string][] = [
        ['uptime', now - node.startedAt],
        ['version', node.version],
      ];
      for (const [name, value] of Object.entries(ctx.tenants.stats(tenant, now))) entries.push([name, value]);
      return { kind: 'stats', entries };
    }
    case 'reset':
      // Destroys counters as flush_all destroys data: the same capability, the same refusal.
      if (!ctx.credential.flush) return STATS_RESET_FORBIDDEN;
      resetCounters(tenant.store.counters);
      return OK;
    case 'settings':
      return {
        kind: 'stats',
        entries: [
          ['maxbytes', tenant.store.limit],
          ['item_size_max', node.limits.maxItemSize],
          ['key_max_length', node.limits.maxKeyLength],
          ['evictions', 'on'],
          ['cas_enabled', 'yes'],
          ['io', node.io],
          // Which OS process serves this node (`cachier start` runs one per node), as memcached's `STAT pid`.
          ['pid', process.pid],
        ],
      };
    case 'items':
    case 'slabs':
    case 'sizes':
    case 'conns':
      // Node-wide internals that a tenant has no business seeing: an empty list.
      return { kind: 'stats', entries: [] };
    default:
      return { kind: 'error', code: 'UNKNOWN_COMMAND' };
  }
}

export function version(ctx: SessionContext): Reply {
  return { kind: 'version', version: ctx.node.version };
}
