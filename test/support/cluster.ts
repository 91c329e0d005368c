// Runs the real `cachier` CLI as a child process for the compatibility suite.
//
//   const dataDir = makeDataDir();
//   const cache = await createCache(dataDir);           // works without a server
//   const cluster = await startCluster({ dataDir, anonymousCacheId: cache.id });
//   ... cluster.servers ...
//   await cluster.stop();                                // SIGTERM, SIGKILL after 5 s
//
// The process itself is child-process.ts's: tracked, and SIGKILLed by pid if the test
// process exits first.
import { HOST, removeTempDir, runCli, spawnCli, tempDir, type Proc } from './child-process.ts';
import { freePort, freePorts } from './ports.ts';

/** How long a credential/cache change may take to reach every node (contract: 1 s). */
export const PROPAGATION_MS = 1200;

export interface StartClusterOptions {
  nodes?: number;
  anonymousCacheId?: string | number;
  historyInterval?: number;
  /** Reuse a directory (e.g. one `createCache` already wrote to). Default: a fresh temp dir. */
  dataDir?: string;
  extraArgs?: string[];
  /** Default 20 000 ms. */
  readyTimeoutMs?: number;
}

export interface Cluster {
  host: string;
  httpPort: number;
  /** Node ports, ports[0] .. ports[0]+nodes-1. */
  ports: number[];
  /** 'host:port' for every node. */
  servers: string[];
  dataDir: string;
  pid: number;
  /** The `cachier ready …` line. */
  readyLine: string;
  stdout(): string;
  stderr(): string;
  stop(): Promise<void>;
}

export interface CreatedCache {
  id: number | string;
  name: string;
  servers: string[];
  username: string;
  password: string;
  /** The whole JSON object the CLI printed. */
  raw: Record<string, unknown>;
}

/** A fresh data directory under the OS temp dir, removed by `stop()` / at exit. */
export function makeDataDir(): string {
  return tempDir('cachier-test-');
}

// ---------------------------------------------------------------- start

const READY = 'cachier ready';

async function startOnce(opts: StartClusterOptions, dataDir: string, httpPort: number, ports: number[]): Promise<Cluster> {
  const host = HOST;
  const args = [
    'start',
    '--data', dataDir,
    '--host', host,
    '--http-port', String(httpPort),
    '--port', String(ports[0]),
    '--nodes', String(ports.length),
  ];
  if (opts.anonymousCacheId !== undefined) args.push('--anonymous-cache', String(opts.anonymousCacheId));
  if (opts.historyInterval !== undefined) args.push('--history-interval', String(opts.historyInterval));
  if (opts.extraArgs) args.push(...opts.extraArgs);
  const proc: Proc = await spawnCli(args, READY, { timeoutMs: opts.readyTimeoutMs ?? 20_000 });
  let stopped: Promise<void> | undefined;
  return {
    host,
    httpPort,
    ports,
    servers: ports.map((p) => `${host}:${p}`),
    dataDir,
    pid: proc.pid,
    readyLine: proc.readyLine,
    stdout: proc.stdout,
    stderr: proc.stderr,
    stop: () => {
      stopped ??= proc.stop().then(() => removeTempDir(dataDir));
      return stopped;
    },
  };
}

/** Starts `cachier start` and resolves once it prints a line beginning with `cachier ready`. */
export async function startCluster(opts: StartClusterOptions = {}): Promise<Cluster> {
  const nodes = opts.nodes ?? 1;
  const dataDir = opts.dataDir ?? makeDataDir();
  let lastError: unknown;
  // Ports are found by bind-and-close, so another process may grab one in between:
  // retry on EADDRINUSE with fresh ports.
  for (let attempt = 0; attempt < 3; attempt++) {
    const ports = await freePorts(nodes, { consecutive: true });
    let httpPort = await freePort();
    while (ports.includes(httpPort)) httpPort = await freePort();
    try {
      return await startOnce(opts, dataDir, httpPort, ports);
    } catch (e) {
      lastError = e;
      if (!/EADDRINUSE/.test((e as Error).message)) break;
    }
  }
  if (!opts.dataDir) removeTempDir(dataDir);
  throw lastError;
}

// ---------------------------------------------------------------- cache create

/** Runs `cachier cache create --data DIR --memory MEM --json` and parses the JSON it prints. */
export async function createCache(dataDir: string, memory = '64mb'): Promise<CreatedCache> {
  const { stdout, stderr } = await runCli(['cache', 'create', '--data', dataDir, '--memory', memory, '--json']);
  const context = `command: cachier cache create --data ${dataDir} --memory ${memory} --json\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`;
  let raw: Record<string, unknown>;
  try {
    raw = parseJsonObject(stdout);
  } catch (e) {
    throw new Error(`cache create printed no JSON object: ${(e as Error).message}\n${context}`);
  }
  const missing = ['id', 'name', 'servers', 'username', 'password'].filter((k) => raw[k] === undefined);
  if (missing.length) throw new Error(`cache create JSON lacks ${missing.join(', ')}\n${context}`);
  const servers = Array.isArray(raw.servers)
    ? raw.servers.map(String)
    : String(raw.servers).split(/[\s,]+/).filter(Boolean);
  return {
    id: raw.id as number | string,
    name: String(raw.name),
    servers,
    username: String(raw.username),
    password: String(raw.password),
    raw,
  };
}

function parseJsonObject(stdout: string): Record<string, unknown> {
  const text = stdout.trim();
  try {
    const v = JSON.parse(text);
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    /* fall through: maybe other lines around it */
  }
  const lines = text.split('\n').filter((l) => l.trim().startsWith('{'));
  for (const line of lines.reverse()) {
    try {
      const v = JSON.parse(line);
      if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {
      /* next */
    }
  }
  throw new Error('no parseable JSON object on stdout');
}
