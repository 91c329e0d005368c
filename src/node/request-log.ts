/**
 * What a cache's request ring records of each command and its reply (the vocabulary is in
 * src/introspection/request-ring.ts): one line per key, so a 20-key get is 20 lines, and
 * one line for a command without a key. Called by the dispatch (execute.ts) after the
 * handler, so it sees exactly what the client was answered.
 */
import type { Command, Reply, RequestFamily } from '../protocol/command.ts';
import type { CacheIntrospection } from '../introspection/cache-introspection.ts';
import { CMD, ST } from '../introspection/request-ring.ts';

const STORE_STATUS = { stored: ST.STORED, not_stored: ST.NOT_STORED, exists: ST.EXISTS, not_found: ST.NOT_FOUND } as const;
const DELETE_STATUS = { deleted: ST.DELETED, not_found: ST.NOT_FOUND, exists: ST.EXISTS } as const;
const ARITH_STATUS = { ok: ST.OK, not_found: ST.NOT_FOUND, exists: ST.EXISTS } as const;
const STORE_COMMAND = { set: CMD.SET, add: CMD.ADD, replace: CMD.REPLACE, append: CMD.APPEND, prepend: CMD.PREPEND } as const;
const FAMILY_COMMAND: { readonly [F in RequestFamily]: number } = {
  ...STORE_COMMAND, get: CMD.GET, gat: CMD.GAT, cas: CMD.CAS, incr: CMD.INCR, decr: CMD.DECR, delete: CMD.DELETE,
  touch: CMD.TOUCH, flush: CMD.FLUSH,
};

/** A refusal for lack of a capability is DENIED; any other error reply is ERROR. */
function errorStatus(reply: Reply): number {
  return reply.kind === 'error' && (reply.code === 'WRITE_FORBIDDEN' || reply.code === 'FLUSH_FORBIDDEN') ? ST.DENIED : ST.ERROR;
}

/**
 * Records `cmd` answered by `reply` at `time` (ms); for a streamed get, the keys from index
 * `from` that this reply answered. Answered gets and plain stored sets, nearly every request,
 * go first without a table lookup by name (a keyed load on every request); the rest below.
 */
export function logRequest(log: CacheIntrospection, cmd: Command, reply: Reply, from: number, time: number): void {
  if (cmd.kind === 'get' && reply.kind === 'values') {
    log.logValues(time, cmd.touchExptime === undefined ? CMD.GET : CMD.GAT, cmd.keys, from, reply.items, cmd.span);
  } else if (cmd.kind === 'store' && cmd.mode === 'set' && cmd.cas === undefined && reply.kind === 'stored' && reply.status === 'stored') {
    log.log(time, CMD.SET, ST.STORED, cmd.key, cmd.value.length);
  } else {
    logOther(log, cmd, reply, from, time);
  }
}

function logOther(log: CacheIntrospection, cmd: Command, reply: Reply, from: number, time: number): void {
  switch (cmd.kind) {
    case 'get': {
      const command = cmd.touchExptime === undefined ? CMD.GET : CMD.GAT;
      if (reply.kind !== 'values') {
        log.log(time, command, errorStatus(reply), cmd.keys[from] ?? null, 0);
        return;
      }
      log.logValues(time, command, cmd.keys, from, reply.items, cmd.span);
      return;
    }
    case 'store': {
      const command = cmd.cas !== undefined ? CMD.CAS : STORE_COMMAND[cmd.mode];
      const status = reply.kind === 'stored' ? STORE_STATUS[reply.status] : errorStatus(reply);
      log.log(time, command, status, cmd.key, cmd.value.length);
      return;
    }
    case 'delete':
      log.log(time, CMD.DELETE, reply.kind === 'deleted' ? DELETE_STATUS[reply.status] : errorStatus(reply), cmd.key, 0);
      return;
    case 'arith':
      log.log(
        time, cmd.incr ? CMD.INCR : CMD.DECR, reply.kind === 'arith' ? ARITH_STATUS[reply.status] : errorStatus(reply), cmd.key,
        reply.kind === 'arith' && reply.item !== null ? reply.item.value.length : 0,
      );
      return;
    case 'touch':
      log.log(time, CMD.TOUCH, reply.kind === 'touched' ? (reply.found ? ST.TOUCHED : ST.NOT_FOUND) : errorStatus(reply), cmd.key, 0);
      return;
    case 'flush':
      log.log(time, CMD.FLUSH, reply.kind === 'ok' ? ST.OK : errorStatus(reply), null, 0);
      return;
    case 'stats':
      log.log(time, CMD.STATS, reply.kind === 'error' ? errorStatus(reply) : ST.OK, null, 0);
      return;
    case 'version':
      log.log(time, CMD.VERSION, ST.OK, null, 0);
      return;
    case 'noop':
      log.log(time, CMD.NOOP, ST.OK, null, 0);
      return;
    case 'sasl-auth':
      log.log(time, CMD.AUTH, reply.kind === 'authenticated' ? ST.OK : ST.ERROR, null, 0);
      return;
    default:
      // verbosity, quit, sasl-list, debug (meta `me`): not requests on the cache's data.
      return;
  }
}

/**
 * A request the parser refused (session.ts; it never reached the dispatch): one ERROR
 * line of its command, with its key when the key itself was valid. Lines that are no
 * command (garbage) have no family and are not logged.
 */
export function logRefused(log: CacheIntrospection, family: RequestFamily, key: Buffer | undefined, time: number): void {
  log.log(time, FAMILY_COMMAND[family], ST.ERROR, key ?? null, 0);
}
