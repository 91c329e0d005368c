/**
 * The server's own counters around a measurement (`stats` over ASCII): misses as the server
 * saw them, whatever the client made of its replies (memcaslap reads a binary miss as a
 * hit, see memcaslap.ts), and evictions, which would explain them. For cachier the
 * anonymous connection reads the bench cache's stats, the cache every workload uses.
 */
import net from 'node:net';

export interface ServerCounters {
  readonly cmdGet: number;
  readonly getMisses: number;
  readonly cmdSet: number;
  readonly evictions: number;
}

const NAMES = { cmdGet: 'cmd_get', getMisses: 'get_misses', cmdSet: 'cmd_set', evictions: 'evictions' } as const;

export function parseStats(text: string): ServerCounters {
  const stat = (name: string) => {
    const m = new RegExp(`^STAT ${name} (\\d+)\\r?$`, 'm').exec(text);
    if (!m) throw new Error(`stats: no ${name} in ${JSON.stringify(text.slice(0, 300))}`);
    return Number(m[1]);
  };
  return {
    cmdGet: stat(NAMES.cmdGet), getMisses: stat(NAMES.getMisses), cmdSet: stat(NAMES.cmdSet), evictions: stat(NAMES.evictions),
  };
}

export function readServerCounters(host: string, port: number, timeoutMs = 5000): Promise<ServerCounters> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`stats from ${host}:${port}: no END within ${timeoutMs} ms; got ${JSON.stringify(text.slice(-200))}`));
    }, timeoutMs);
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      text += d;
      if (!/(^|\n)(END|ERROR|CLIENT_ERROR[^\n]*|SERVER_ERROR[^\n]*)\r\n$/.test(text)) return;
      clearTimeout(timer);
      socket.destroy();
      try {
        resolve(parseStats(text));
      } catch (e) {
        reject(e);
      }
    });
    socket.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socket.write('stats\r\n');
  });
}

export function counterDelta(before: ServerCounters, after: ServerCounters): ServerCounters {
  return {
    cmdGet: after.cmdGet - before.cmdGet,
    getMisses: after.getMisses - before.getMisses,
    cmdSet: after.cmdSet - before.cmdSet,
    evictions: after.evictions - before.evictions,
  };
}

/**
 * The pid `stats settings` names (cachier's node, as memcached's `STAT pid`): with
 * `cachier start` running its nodes as child processes, the process that serves is not
 * the one the bench started. Undefined when the server does not say.
 */
export function readServingPid(host: string, port: number, timeoutMs = 5000): Promise<number | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let text = '';
    const done = (pid: number | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(pid);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      text += d;
      if (!/(^|\n)(END|ERROR|CLIENT_ERROR[^\n]*|SERVER_ERROR[^\n]*)\r\n$/.test(text)) return;
      const m = /^STAT pid (\d+)\r?$/m.exec(text);
      done(m ? Number(m[1]) : undefined);
    });
    socket.once('error', () => done(undefined));
    socket.write('stats settings\r\n');
  });
}
