/**
 * Writes to the catalog through a control plane's HTTP API, in concurrent lanes, and keeps
 * a ledger of what the API said was committed: caches made with the operator API, credentials
 * made, capability changes, deletions. A request that fails in flight (the server was killed)
 * may or may not have committed, so the ledger keeps both outcomes as allowed.
 * `checkLedger` then compares the ledger with a catalog opened afterwards.
 *
 * Each lane changes only credentials it created, so the order of changes to one row is the
 * order the lane saw its answers.
 */
import assert from 'node:assert/strict';
import type { Capabilities, Catalog } from '../../../src/catalog/catalog.ts';
import { verifySecret } from '../../../src/shared/secrets.ts';
import { fuzzSeed, seededRandom } from '../../../src/shared/testing/seeded-random.ts';
import { http } from '../../support/http-client.ts';
import { until } from '../../support/wait.ts';

export interface LedgerCache {
  readonly id: number;
  readonly username: string;
  readonly password: string;
}

export interface LedgerCredential {
  readonly cacheId: number;
  readonly username: string;
  readonly password: string;
  /** Every state the row may be in: one once settled; two after a change failed in flight. `null` = deleted. */
  states: (Capabilities | null)[];
}

export interface Ledger {
  readonly caches: Map<number, LedgerCache>;
  readonly credentials: Map<string, LedgerCredential>;
  /** Requests that got no answer (the server died during them, or was down): outcome unknown. */
  unanswered: number;
  /** Requests the API answered with success. */
  committed: number;
  /** Non-2xx answers (should be none). */
  refused: string[];
}

export function newLedger(first: LedgerCache): Ledger {
  return {
    caches: new Map([[first.id, first]]),
    credentials: new Map(),
    unanswered: 0, committed: 0, refused: [],
  };
}

const capsBody = (c: Capabilities) => ({ write_capability: c.write, flush_capability: c.flush, api_capability: c.api });

export class ApiWriter {
  private stopped = false;
  private lanes: Promise<void>[] = [];

  constructor(
    private readonly port: number,
    private readonly operatorToken: string | undefined,
    readonly ledger: Ledger,
    private readonly laneCount = 4,
    /** Seeds each lane's choices (lane i: seed + i); FUZZ_SEED=<n> sets it. */
    readonly seed = fuzzSeed(),
  ) {}

  start(): void {
    for (let i = 0; i < this.laneCount; i++) this.lanes.push(this.lane(seededRandom(this.seed + i)));
  }

  /** Stops after the requests in flight end (or fail). */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.lanes);
    this.lanes = [];
    this.stopped = false;
  }

  private async lane(random: () => number): Promise<void> {
    const randomCaps = (): Capabilities => ({ write: random() < 0.5, flush: random() < 0.5, api: random() < 0.5 });
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const mine: LedgerCredential[] = [];
    while (!this.stopped) {
      const roll = random();
      const cache = pick([...this.ledger.caches.values()]);
      const auth = { basic: { username: cache.username, password: cache.password } };
      const live = mine.filter((c) => c.states.length === 1 && c.states[0] !== null);
      try {
        if (roll < 0.12 && this.operatorToken) {
          const res = await http(this.port, 'POST', '/api/operator/caches', { bearer: this.operatorToken }, { memory: '1mb' }, 5000);
          if (res.status !== 200) { this.ledger.refused.push(`create cache: ${res.status} ${res.text}`); continue; }
          this.ledger.caches.set(res.body.id, { id: res.body.id, username: res.body.username, password: res.body.password });
        } else if (roll < 0.5 || live.length === 0) {
          const caps = randomCaps();
          const res = await http(this.port, 'POST', `/api/v1/${cache.id}/credentials`, auth, capsBody(caps), 5000);
          if (res.status !== 200) { this.ledger.refused.push(`create credential: ${res.status} ${res.text}`); continue; }
          const cred: LedgerCredential = { cacheId: cache.id, username: res.body.sasl_username, password: res.body.sasl_password, states: [caps] };
          this.ledger.credentials.set(cred.username, cred);
          mine.push(cred);
        } else if (roll < 0.9) {
          const cred = pick(live);
          const owner = this.ledger.caches.get(cred.cacheId)!;
          const caps = randomCaps();
          const before = cred.states[0]!;
          cred.states = [before, caps]; // until the answer: either
          const res = await http(this.port, 'PATCH', `/api/v1/${cred.cacheId}/credentials/${cred.username}`,
            { basic: { username: owner.username, password: owner.password } }, capsBody(caps), 5000);
          if (res.status !== 200) { cred.states = [before]; this.ledger.refused.push(`update: ${res.status} ${res.text}`); continue; }
          cred.states = [caps];
        } else {
          const cred = pick(live);
          const owner = this.ledger.caches.get(cred.cacheId)!;
          const before = cred.states[0]!;
          cred.states = [before, null];
          const res = await http(this.port, 'DELETE', `/api/v1/${cred.cacheId}/credentials/${cred.username}`,
            { basic: { username: owner.username, password: owner.password } }, undefined, 5000);
          if (res.status !== 200) { cred.states = [before]; this.ledger.refused.push(`delete: ${res.status} ${res.text}`); continue; }
          cred.states = [null];
        }
        this.ledger.committed++;
      } catch {
        // The server went away mid-request: the ledger already allows both outcomes.
        this.ledger.unanswered++;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }
}

/**
 * Returns once the API has answered `commits` writes since `before` (the ledger's count
 * then) and at least `minMs` have passed, so a kill lands mid-flight with rows committed;
 * throws after `deadlineMs`.
 */
export async function writesCommitted(ledger: Ledger, before: number, commits = 30, minMs = 1000, deadlineMs = 60_000): Promise<void> {
  const t0 = Date.now();
  await until(`${commits} API writes committed`, t0 + deadlineMs, async () =>
    (ledger.committed - before >= commits && Date.now() - t0 >= minMs) || undefined, 50);
}

/**
 * Asserts every committed row of the ledger is in `catalog` as committed (or in one of its
 * allowed states); `context` (e.g. the writer's seed) goes into a failure's message.
 */
export async function checkLedger(catalog: Catalog, ledger: Ledger, context?: string): Promise<{ caches: number; credentials: number; deleted: number }> {
  try {
    return await compareLedger(catalog, ledger);
  } catch (e) {
    if (context && e instanceof Error) e.message += ` (${context})`;
    throw e;
  }
}

async function compareLedger(catalog: Catalog, ledger: Ledger): Promise<{ caches: number; credentials: number; deleted: number }> {
  let credentials = 0;
  let deleted = 0;
  for (const cache of ledger.caches.values()) {
    assert.ok(await catalog.getCache(cache.id), `cache ${cache.id} (committed) is in the catalog`);
    const primary = await catalog.findCredential(cache.username);
    assert.ok(primary && primary.cacheId === cache.id && primary.primary, `primary credential of cache ${cache.id} is there`);
    assert.ok(verifySecret(cache.password, primary), `primary credential of cache ${cache.id} keeps its password`);
  }
  for (const cred of ledger.credentials.values()) {
    const row = await catalog.findCredential(cred.username);
    if (cred.states.length === 1 && cred.states[0] === null) {
      assert.equal(row, undefined, `credential ${cred.username} was deleted (committed) and stays deleted`);
      deleted++;
      continue;
    }
    if (row === undefined) {
      assert.ok(cred.states.includes(null), `credential ${cred.username} (committed) is in the catalog`);
      deleted++;
      continue;
    }
    assert.equal(row.cacheId, cred.cacheId, `credential ${cred.username} belongs to cache ${cred.cacheId}`);
    assert.ok(verifySecret(cred.password, row), `credential ${cred.username} keeps its password`);
    const got = { write: row.write, flush: row.flush, api: row.api };
    assert.ok(cred.states.some((s) => s !== null && s.write === got.write && s.flush === got.flush && s.api === got.api),
      `credential ${cred.username}: capabilities ${JSON.stringify(got)} are one of the committed states ${JSON.stringify(cred.states)}`);
    credentials++;
  }
  return { caches: ledger.caches.size, credentials, deleted };
}
