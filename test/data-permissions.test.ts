// The data directory holds the cluster secret in clear: it is 0700 and the
// catalog's files 0600 whatever the umask, and an older, looser catalog is tightened when
// opened, with one line on stderr saying so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteCatalog } from '../src/catalog/sqlite.ts';
import { runCli } from './support/child-process.ts';

const FILES = ['catalog.sqlite', 'catalog.sqlite-wal', 'catalog.sqlite-shm'];
const modeOf = (path: string) => statSync(path).mode & 0o777;

function withTemp(fn: (parent: string) => Promise<void>) {
  return async () => {
    const parent = mkdtempSync(join(tmpdir(), 'cachier-perm-'));
    try {
      await fn(parent);
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  };
}

for (const umask of [0o022, 0o000, 0o277]) {
  test(`a fresh data directory is 0700 and its three files 0600 (umask ${umask.toString(8).padStart(3, '0')})`, withTemp(async (parent) => {
    const dir = join(parent, 'data');
    const warned: string[] = [];
    const old = process.umask(umask);
    let catalog;
    try {
      catalog = openSqliteCatalog(dir, (l) => warned.push(l));
    } finally {
      process.umask(old);
    }
    try {
      await catalog.clusterSecret();
      await catalog.createCache({ memoryBytes: 1 << 20 });
      assert.equal(modeOf(dir), 0o700);
      for (const f of FILES) assert.equal(modeOf(join(dir, f)), 0o600, f);
      assert.deepEqual(warned, [], 'nothing to say about a catalog it made itself');
    } finally {
      await catalog.close();
    }
  }));
}

test('an existing 0755 / 0644 catalog is tightened on open, saying so once on stderr (CLI)', withTemp(async (parent) => {
  const dir = join(parent, 'data');
  await runCli(['cache', 'create', '--data', dir, '--memory', '1mb', '--json']);
  // As an older cachier left it, with a running process holding the WAL open.
  const holder = new Database(join(dir, 'catalog.sqlite'));
  holder.pragma('journal_mode = WAL');
  holder.prepare('SELECT count(*) FROM caches').get();
  try {
    chmodSync(dir, 0o755);
    for (const f of FILES) chmodSync(join(dir, f), 0o644);

    const first = await runCli(['cache', 'create', '--data', dir, '--memory', '1mb', '--json']);
    assert.equal(JSON.parse(first.stdout).id, 2, 'the command still did its work');
    const lines = first.stderr.trim().split('\n');
    assert.equal(lines.length, 1, first.stderr);
    assert.match(lines[0]!, /^cachier: tightened the catalog's permissions \(it holds the cluster secret\): /);
    assert.match(lines[0]!, new RegExp(`${dir} 0755 -> 0700`));
    for (const f of FILES) assert.match(lines[0]!, new RegExp(`${join(dir, f)} 0644 -> 0600`));
    assert.equal(modeOf(dir), 0o700);
    for (const f of FILES) assert.equal(modeOf(join(dir, f)), 0o600, f);

    const second = await runCli(['cache', 'create', '--data', dir, '--memory', '1mb', '--json']);
    assert.equal(second.stderr, '', 'nothing left to tighten');
  } finally {
    holder.close();
  }
}));

test('a fresh data directory made by the CLI prints nothing extra and is 0700 / 0600', withTemp(async (parent) => {
  const dir = join(parent, 'data');
  const { stderr } = await runCli(['cache', 'create', '--data', dir, '--memory', '1mb', '--json']);
  assert.equal(stderr, '');
  assert.equal(modeOf(dir), 0o700);
  assert.equal(modeOf(join(dir, 'catalog.sqlite')), 0o600);
}));

const notRoot = process.getuid?.() !== 0 ? 'only root can give a file to another user' : false;

test('a data directory or catalog that belongs to another user is refused, not tightened and used', { skip: notRoot }, withTemp(async (parent) => {
  // Another user (nobody) made the directory first, world-writable, with an empty catalog in it.
  const NOBODY = 65534;
  const dir = join(parent, 'squat');
  mkdirSync(dir, { mode: 0o777 });
  chmodSync(dir, 0o777);
  writeFileSync(join(dir, 'catalog.sqlite'), '');
  chownSync(dir, NOBODY, NOBODY);
  chownSync(join(dir, 'catalog.sqlite'), NOBODY, NOBODY);
  chmodSync(parent, 0o755);
  const r = await runCli(['cache', 'create', '--data', dir, '--memory', '1mb', '--json']).then(
    () => ({ code: 0, stderr: '' }), (e: { code: number; stderr: string }) => e);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /belongs to uid 65534, not to this user/);
  // Untouched: no cluster secret was written where its owner could read it.
  assert.equal(statSync(join(dir, 'catalog.sqlite')).size, 0);
  assert.equal(modeOf(dir), 0o777);
  // Its own file in a directory of ours is refused too.
  const mine = join(parent, 'mine');
  mkdirSync(mine, { mode: 0o700 });
  writeFileSync(join(mine, 'catalog.sqlite'), '');
  chownSync(join(mine, 'catalog.sqlite'), NOBODY, NOBODY);
  await assert.rejects(runCli(['cache', 'list', '--data', mine]), /belongs to uid 65534/);
}));
