/**
 * `cachier start`'s cache nodes, each in a process of its own (`cachier node --supervised`),
 * so N nodes use N cores; the control plane stays in the parent. Both sides of it: the
 * parent's NodeSupervisor, and `supervisedChild()` for the node process.
 *
 * Every child starts on standby: it loads the code and opens the catalog, says `standby`
 * over the IPC channel, and waits to be told its port. One spare child waits like that
 * all the time, so a node that dies (crash, kill -9) has a successor listening on its port
 * within about a second — loading the code alone takes longer than that on a busy machine.
 * A node that dies again within STABLE_MS of starting is restarted after a growing delay
 * (BACKOFF_FIRST_MS doubling up to BACKOFF_MAX_MS), so a node that cannot run does not spin.
 *
 * No orphans: the parent stops every child with SIGTERM (SIGKILL after STOP_GRACE_MS), and a
 * child whose IPC channel closes — its parent gone, even by SIGKILL — stops by itself.
 * A child ignores SIGINT: Ctrl-C reaches the whole process group, and the parent decides
 * the order (control plane first, then the nodes).
 *
 * The nodes keep one failed-login budget, as when they shared a process: each relays its
 * failures through the parent to the others (batched), whose throttles weigh them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../shared/logger.ts';
import type { LocalNode } from '../control/readiness.ts';
import type { LoginThrottle } from '../shared/login-throttle.ts';
import { hostPort } from '../shared/host-port.ts';

/** Failed logins as (source address, username): relayed so every node's throttle weighs them. */
type Failures = [string, string][];
/** Parent to child. */
export type ToChild = { type: 'serve'; port: number } | { type: 'sync'; id: number } | { type: 'login_failures'; failures: Failures };
/** Child to parent. */
export type FromChild =
  | { type: 'standby' }
  | { type: 'ready'; address: string; adminAddress: string }
  | { type: 'synced'; id: number; error?: string }
  | { type: 'login_failures'; failures: Failures };

const CLI = fileURLToPath(new URL('../../bin/cachier.js', import.meta.url));

/** A node that ran this long before dying is restarted at once. */
export const STABLE_MS = 10_000;
export const BACKOFF_FIRST_MS = 500;
export const BACKOFF_MAX_MS = 30_000;
const STOP_GRACE_MS = 5_000;
const SYNC_TIMEOUT_MS = 5_000;
const ORPHAN_EXIT_MS = 2_000;
/** Failed logins are relayed in batches this often, at most RELAY_MAX a batch (the rest stay local). */
const RELAY_EVERY_MS = 100;
const RELAY_MAX = 1000;

export interface SupervisorOptions {
  readonly host: string;
  /** One node per port. */
  readonly ports: readonly number[];
  /** `cachier node` arguments every child gets (catalog, host, node flags); not --port. */
  readonly args: readonly string[];
  /** Extra environment of the children (e.g. a token that should not sit in argv). */
  readonly env?: NodeJS.ProcessEnv;
  readonly log: Logger;
  /** Longest wait for every node of the first start. */
  readonly startTimeoutMs?: number;
}

interface Child {
  readonly proc: ChildProcess;
  readonly pid: number;
  standby: boolean;
  /** The slot it serves; undefined while a spare. */
  slot?: NodeSlot;
  exited: boolean;
  readonly onExit: Promise<void>;
}

class NodeSlot implements LocalNode {
  readonly address: string;
  child?: Child;
  ready = false;
  readyAt = 0;
  /** Deaths in a row, each within STABLE_MS of the start before it. */
  quickDeaths = 0;
  restarts = 0;
  downSince = 0;
  timer?: NodeJS.Timeout;

  constructor(host: string, readonly port: number) {
    this.address = hostPort(host, port);
  }

  get listening(): boolean {
    return this.ready;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }
}

export class NodeSupervisor {
  /** The nodes, as the control plane's readiness and operator API see them. */
  readonly nodes: readonly NodeSlot[];
  private readonly children = new Set<Child>();
  private spare?: Child;
  private spareDeaths = 0;
  private spareTimer?: NodeJS.Timeout;
  private stopping = false;
  private stopped?: Promise<void>;
  private running = false;
  private syncId = 0;
  /** Sync requests waiting for their answer, by id. */
  private readonly pending = new Map<number, { child: Child; done: () => void }>();

  constructor(private readonly opts: SupervisorOptions) {
    this.nodes = opts.ports.map((p) => new NodeSlot(opts.host, p));
  }

  /** Starts every node; resolves when all are ready, rejects (after stopping the rest) if one dies first. */
  async start(): Promise<void> {
    // All load at once; ports are handed out in order, so nodes register (and are listed) in port order.
    const children = this.nodes.map(() => this.spawnChild());
    const inOrder = (async () => {
      for (const [i, slot] of this.nodes.entries()) {
        const child = children[i]!;
        const ready = new Promise<boolean>((resolve) => child.proc.on('message', (m: FromChild) => m.type === 'ready' && resolve(true)));
        this.assign(slot, child);
        if (!(await Promise.race([ready, child.onExit.then(() => false)]))) {
          throw new Error(`node ${slot.address} exited before it was ready (its error is above)`);
        }
      }
    })();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      const ms = this.opts.startTimeoutMs ?? 120_000;
      timer = setTimeout(() => reject(new Error(`the nodes were not ready within ${ms / 1000} s`)), ms);
    });
    try {
      await Promise.race([inOrder, timeout]);
    } catch (e) {
      await this.stop();
      throw e;
    } finally {
      clearTimeout(timer);
    }
    this.running = true;
    this.replenishSpare();
  }

  /** Every ready node reads the catalog now (as CatalogSync.syncNow); resolves when all did or timed out. */
  async syncAll(): Promise<void> {
    await Promise.all(this.nodes.filter((s) => s.ready && s.child).map((s) => this.request(s.child!, { type: 'sync', id: ++this.syncId })));
  }

  /** SIGTERM to every child, SIGKILL after the grace; resolves when all are gone. */
  stop(): Promise<void> {
    this.stopped ??= this.stopAll();
    return this.stopped;
  }

  private async stopAll(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.spareTimer);
    for (const s of this.nodes) clearTimeout(s.timer);
    const all = [...this.children];
    const grace = setTimeout(() => {
      for (const c of all) if (!c.exited) kill(c.pid, 'SIGKILL');
    }, STOP_GRACE_MS);
    for (const c of all) kill(c.pid, 'SIGTERM');
    await Promise.all(all.map((c) => c.onExit));
    clearTimeout(grace);
    this.opts.log.info({ event: 'node_processes_stopped', processes: all.length }, 'node processes stopped');
  }

  private spawnChild(): Child {
    const proc = spawn(process.execPath, [...nodeFlags(), CLI, 'node', '--supervised', ...this.opts.args], {
      // stdout: the child's `cachier node ready` line is not start's to print; stderr: its log.
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      env: { ...process.env, ...this.opts.env },
    });
    let resolveExit!: () => void;
    const child: Child = { proc, pid: proc.pid ?? -1, standby: false, exited: false, onExit: new Promise((r) => (resolveExit = r)) };
    this.children.add(child);
    proc.on('message', (m: FromChild) => this.onMessage(child, m));
    // A failed spawn (no pid) ends with 'error' and 'close', not necessarily 'exit'.
    proc.on('error', (e) => this.opts.log.error({ event: 'node_process_spawn_failed', err: e }, 'could not start a node process'));
    proc.once('close', (code, signal) => {
      child.exited = true;
      this.children.delete(child);
      for (const p of [...this.pending.values()]) if (p.child === child) p.done();
      this.onExit(child, code, signal);
      resolveExit();
    });
    return child;
  }

  private assign(slot: NodeSlot, child: Child): void {
    slot.child = child;
    child.slot = slot;
    if (child.standby) this.send(child, { type: 'serve', port: slot.port });
  }

  private onMessage(child: Child, m: FromChild): void {
    if (m.type === 'standby') {
      child.standby = true;
      if (child.slot) this.send(child, { type: 'serve', port: child.slot.port });
      else if (child === this.spare) this.opts.log.info({ event: 'node_process_spare', node_pid: child.pid }, 'spare node process waiting');
    } else if (m.type === 'ready') {
      const slot = child.slot;
      if (!slot || slot.child !== child) return;
      slot.ready = true;
      slot.readyAt = Date.now();
      if (slot.restarts === 0) {
        this.opts.log.info({ event: 'node_process_started', node: slot.address, node_pid: child.pid }, 'node process started');
      } else {
        this.opts.log.info({
          event: 'node_process_restarted', node: slot.address, node_pid: child.pid, restarts: slot.restarts, down_ms: slot.readyAt - slot.downSince,
        }, 'node process restarted');
      }
    } else if (m.type === 'synced') {
      this.pending.get(m.id)?.done();
    } else if (m.type === 'login_failures') {
      // One failure budget for the nodes of this start, as when they shared a process.
      for (const s of this.nodes) if (s.ready && s.child && s.child !== child) this.send(s.child, m);
    }
  }

  private onExit(child: Child, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.stopping) return;
    const slot = child.slot;
    // A node's first process dying before it was ever ready fails start() as a whole; once a
    // node has been ready (even while start() still waits for the others) a death is restarted.
    if (!this.running && (slot ? slot.child === child && slot.restarts === 0 && slot.readyAt === 0 : child !== this.spare)) return;
    if (!slot) {
      // The spare died while waiting: replace it, slower each time it does so in a row.
      if (this.spare === child) this.spare = undefined;
      this.spareDeaths++;
      const delay = backoff(this.spareDeaths);
      this.opts.log.warn({ event: 'node_process_exited', role: 'spare', node_pid: child.pid, code, signal, restart_in_ms: delay }, 'spare node process exited');
      this.spareTimer = setTimeout(() => this.replenishSpare(), delay);
      return;
    }
    if (slot.child !== child) return;
    const uptime = slot.ready ? Date.now() - slot.readyAt : 0;
    slot.ready = false;
    slot.child = undefined;
    slot.quickDeaths = uptime < STABLE_MS ? slot.quickDeaths + 1 : 1;
    if (slot.downSince === 0 || uptime > 0) slot.downSince = Date.now();
    const delay = backoff(slot.quickDeaths);
    const fields = { event: 'node_process_exited', role: 'node', node: slot.address, node_pid: child.pid, code, signal, uptime_ms: uptime, restart_in_ms: delay };
    if (delay === 0) this.opts.log.warn(fields, 'node process exited: restarting it');
    else this.opts.log.error({ ...fields, deaths_in_a_row: slot.quickDeaths }, 'node process exited again soon after its start: restarting it after a delay');
    slot.timer = setTimeout(() => this.restart(slot), delay);
  }

  private restart(slot: NodeSlot): void {
    if (this.stopping) return;
    slot.restarts++;
    const spare = this.spare;
    this.spare = undefined;
    this.assign(slot, spare ?? this.spawnChild());
    this.replenishSpare();
  }

  private replenishSpare(): void {
    if (this.stopping || this.spare) return;
    this.spare = this.spawnChild();
    // A spare that has waited a while without dying has proved it can start.
    const spare = this.spare;
    setTimeout(() => {
      if (this.spare === spare && !spare.exited) this.spareDeaths = 0;
    }, STABLE_MS).unref();
  }

  private send(child: Child, m: ToChild): void {
    if (child.exited || !child.proc.connected) return;
    child.proc.send(m, (e) => {
      // The child went away meanwhile: its exit is handled by onExit.
      if (e) this.opts.log.debug({ event: 'node_process_ipc_failed', node_pid: child.pid, err: e }, 'IPC send failed');
    });
  }

  /** Resolves on the child's answer, its exit, or after SYNC_TIMEOUT_MS: a sync is best effort. */
  private request(child: Child, m: ToChild & { type: 'sync' }): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.pending.delete(m.id);
        resolve();
      };
      const timer = setTimeout(done, SYNC_TIMEOUT_MS);
      this.pending.set(m.id, { child, done });
      this.send(child, m);
    });
  }
}

/**
 * Node's own flags of this process (--max-old-space-size, --cpu-prof, --perf-basic-prof…)
 * go to every node too, as child_process.fork does; not the inspector's, whose port one
 * process holds.
 */
function nodeFlags(): string[] {
  return process.execArgv.filter((f) => !/^--(inspect|debug)/.test(f));
}

/** Delay before restarting after the n-th quick death in a row: none for the first. */
export function backoff(deathsInARow: number): number {
  if (deathsInARow <= 1) return 0;
  return Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (deathsInARow - 2));
}

function kill(pid: number, signal: NodeJS.Signals): void {
  // A spawn that failed has no pid (-1 here): never signal -1 or 0, which mean many processes.
  if (pid <= 0) return;
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/**
 * The node process's side (`cachier node --supervised`): says standby, waits for its port,
 * stops when the parent goes away, and answers sync requests once `onSync` is set.
 */
export function supervisedChild(): {
  port(): Promise<number>;
  ready(address: string, adminAddress: string): void;
  onSync(sync: () => Promise<void>): void;
  /** Shares `throttle`'s failures with the other nodes of this start (both ways). */
  shareThrottle(throttle: LoginThrottle): void;
} {
  if (!process.send) throw new Error('--supervised needs an IPC channel (cachier start runs it)');
  // The parent orders the shutdown; its death (the channel closing) stops this node too.
  process.on('SIGINT', () => {});
  const orphaned = () => {
    process.kill(process.pid, 'SIGTERM');
    // A clean stop takes milliseconds; never outlive the parent by more than this.
    setTimeout(() => process.exit(1), ORPHAN_EXIT_MS).unref();
  };
  if (!process.connected) orphaned();
  process.once('disconnect', orphaned);
  let sync: (() => Promise<void>) | undefined;
  let gotPort: ((port: number) => void) | undefined;
  let throttle: LoginThrottle | undefined;
  process.on('message', (m: ToChild) => {
    if (m.type === 'serve') gotPort?.(m.port);
    else if (m.type === 'login_failures') for (const [source, username] of m.failures) throttle?.failedElsewhere(source, username);
    else if (m.type === 'sync') {
      const reply = (error?: string) => process.send?.({ type: 'synced', id: m.id, error } satisfies FromChild);
      if (!sync) reply('not ready');
      else sync().then(() => reply(), (e: Error) => reply(e.message));
    }
  });
  return {
    port: () => new Promise((resolve) => {
      gotPort = resolve;
      process.send!({ type: 'standby' } satisfies FromChild);
    }),
    ready: (address, adminAddress) => process.send!({ type: 'ready', address, adminAddress } satisfies FromChild),
    onSync: (s) => (sync = s),
    shareThrottle: (t) => {
      throttle = t;
      let batch: Failures = [];
      t.onFailure = (source, username) => {
        if (batch.length >= RELAY_MAX) return;
        batch.push([source, username]);
        if (batch.length === 1) {
          setTimeout(() => {
            if (process.connected) process.send!({ type: 'login_failures', failures: batch } satisfies FromChild);
            batch = [];
          }, RELAY_EVERY_MS).unref();
        }
      };
    },
  };
}
