// kill -9 of `cachier start` (SQLite catalog, WAL) while clients write to the catalog
// through the API: every row the API answered for is in the file the crash left behind,
// with its committed capabilities, and the restarted process serves it (logins, API).
// Two rounds, so a catalog that already went through one crash is crashed again.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openSqliteCatalog } from '../../src/catalog/sqlite.ts';
import { freePorts } from '../support/ports.ts';
import { ApiWriter, checkLedger, newLedger, writesCommitted, type Ledger } from './support/api-writer.ts';
import { openSession } from './support/mc.ts';
import { exitOf, printed, printedOperatorToken, spawnCli, type Proc } from '../support/child-process.ts';
import { http } from '../support/http-client.ts';

describe('kill -9 of cachier start (SQLite) during catalog writes', { timeout: 180_000 }, () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cachier-fault-sqlite-'));
  let proc: Proc | undefined;
  after(async () => {
    await proc?.stop();
    if (!process.env.CACHIER_TEST_KEEP) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('no committed cache, credential or capability is lost; the restarted process serves them', async () => {
    const [port, httpPort] = await freePorts(2);
    const args = ['start', '--data', dataDir, '--host', '127.0.0.1', '--port', String(port), '--http-port', String(httpPort), '--nodes', '1'];
    proc = await spawnCli(args, 'cachier ready');
    const first = {
      id: Number(/first cache \(id (\d+)\)/.exec(proc.output())![1]),
      username: printed(proc.output(), 'MEMCACHIER_USERNAME'),
      password: printed(proc.output(), 'MEMCACHIER_PASSWORD'),
    };
    const token = printedOperatorToken(proc.output());
    assert.ok(token, 'the first start prints the operator token');
    const ledger: Ledger = newLedger(first);
    const header = fs.readFileSync(path.join(dataDir, 'catalog.sqlite')).subarray(0, 20);
    assert.deepEqual([header[18], header[19]], [2, 2], 'the catalog file is in WAL mode');

    for (let round = 1; round <= 2; round++) {
      const writer = new ApiWriter(httpPort!, token, ledger);
      const committedBefore = ledger.committed;
      writer.start();
      // Write for a while (at least 1 s and 30 answered writes), then kill mid-flight.
      await writesCommitted(ledger, committedBefore);
      proc.kill('SIGKILL');
      assert.equal((await exitOf(proc)).signal, 'SIGKILL');
      await writer.stop();
      assert.deepEqual(ledger.refused, [], `the API refused none of the writes before the kill (API writer seed ${writer.seed})`);

      // The file exactly as the crash left it (the WAL not yet replayed by any server).
      const catalog = openSqliteCatalog(dataDir);
      let found;
      try {
        found = await checkLedger(catalog, ledger, `API writer seed ${writer.seed}`);
      } finally {
        await catalog.close();
      }
      console.log(`round ${round}: ${ledger.committed} writes committed in all, ${ledger.unanswered} unanswered; ` +
        `after kill -9: ${found.caches} caches, ${found.credentials} credentials, ${found.deleted} deletions all as committed`);

      proc = await spawnCli(args, 'cachier ready');
      assert.doesNotMatch(proc.output(), /first cache|Operator API token/, 'a restart neither makes a first cache nor a new token');
    }

    // The restarted process serves what was committed: every live credential logs in, the
    // API answers for every cache, with the committed capabilities.
    const live = [...ledger.credentials.values()].filter((c) => c.states.length === 1 && c.states[0] !== null);
    for (let i = 0; i < live.length; i += 50) {
      await Promise.all(live.slice(i, i + 50).map(async (cred, j) => {
        const c = await openSession(port!, { mode: j % 2 ? 'binary' : 'text', username: cred.username, password: cred.password });
        c.end();
      }));
    }
    for (const cache of ledger.caches.values()) {
      const res = await http(httpPort!, 'GET', `/api/v1/${cache.id}/credentials`, { basic: cache });
      assert.equal(res.status, 200, res.text);
      for (const view of res.body as { sasl_username: string; write_capability: boolean; flush_capability: boolean; api_capability: boolean }[]) {
        const cred = ledger.credentials.get(view.sasl_username);
        if (!cred || cred.states.length !== 1) continue;
        assert.deepEqual({ write: view.write_capability, flush: view.flush_capability, api: view.api_capability }, cred.states[0]);
      }
    }
    const stats = await http(httpPort!, 'GET', `/api/v1/${first.id}/stats`, { basic: first });
    assert.equal(stats.status, 200, stats.text);
  });
});
