/**
 * The SQLite catalog holds the cluster secret in clear (and password hashes): whoever
 * reads it can administer every node. So its directory is 0700 and its files 0600 —
 * set with chmod after creating, so no umask loosens them — and an existing catalog made
 * before this (0755 / 0644) is tightened when opened, with one line saying so. A mode is
 * only worth what its owner makes of it: a directory or catalog file that belongs to
 * another user (one who created it first, say in /tmp) is refused, not used.
 */
import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const DIR_MODE = 0o700;
export const FILE_MODE = 0o600;
/** The database file and the two SQLite keeps beside it in WAL mode. */
export const CATALOG_FILES = ['catalog.sqlite', 'catalog.sqlite-wal', 'catalog.sqlite-shm'] as const;

const modeOf = (path: string): number | undefined => {
  try {
    return statSync(path).mode & 0o7777;
  } catch {
    return undefined;
  }
};

/**
 * Makes the directory and the database file with owner-only modes, tightening existing
 * ones; returns what it changed that already existed (e.g. "data 0755 -> 0700").
 * A sticky world-writable directory (/tmp) is shared by design and left alone.
 */
export function prepareCatalogFiles(dir: string): string[] {
  const changed: string[] = [];
  const dirMode = modeOf(dir);
  mkdirSync(dir, { recursive: true, mode: DIR_MODE });
  const shared = dirMode !== undefined && (dirMode & 0o1000) !== 0;
  if (!shared) requireOwn(dir);
  for (const name of CATALOG_FILES) if (modeOf(join(dir, name)) !== undefined) requireOwn(join(dir, name));
  if (!shared) tighten(dir, DIR_MODE, dirMode, changed);
  for (const name of CATALOG_FILES) tighten(join(dir, name), FILE_MODE, modeOf(join(dir, name)), changed);
  const file = join(dir, CATALOG_FILES[0]);
  if (modeOf(file) === undefined) {
    // Created here 0600 (before SQLite would create it 0644); SQLite gives -wal and -shm the database file's mode.
    try {
      closeSync(openSync(file, 'wx', FILE_MODE));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    tighten(file, FILE_MODE, undefined, changed);
  }
  return changed;
}

/** After SQLite opened the catalog: its -wal and -shm exist now; make sure of their modes. */
export function settleCatalogFiles(dir: string): void {
  for (const name of CATALOG_FILES) tighten(join(dir, name), FILE_MODE, undefined, []);
}

/** Throws unless `path` belongs to the user running us: its owner could read the secret, or swap the file. */
function requireOwn(path: string): void {
  const uid = process.getuid?.();
  if (uid === undefined) return;
  const owner = statSync(path).uid;
  if (owner !== uid) {
    throw new Error(`${path} belongs to uid ${owner}, not to this user (uid ${uid}): refusing a catalog that another user `
      + 'can read or replace (it holds the cluster secret); use a directory of your own');
  }
}

/** Sets `want` when the mode differs; records it when the path existed before (`before`). */
function tighten(path: string, want: number, before: number | undefined, changed: string[]): void {
  const now = modeOf(path);
  if (now === undefined || (now & 0o777) === want) return;
  try {
    chmodSync(path, want);
  } catch (e) {
    // Not ours to change (another owner): say so rather than refuse to start.
    changed.push(`${path} ${octal(now & 0o777)} (could not change it: ${(e as NodeJS.ErrnoException).code})`);
    return;
  }
  if (before !== undefined) changed.push(`${path} ${octal(before & 0o777)} -> ${octal(want)}`);
}

const octal = (mode: number) => `0${mode.toString(8)}`;

/** The one line an operator sees when an existing catalog was tightened. */
export function tightenedMessage(changed: readonly string[]): string {
  return `cachier: tightened the catalog's permissions (it holds the cluster secret): ${changed.join(', ')}`;
}
