/**
 * One `cachier start` per --data directory: two would both claim the embedded cluster and
 * each forget the other's nodes. The lock is a file holding the owner's pid, made with
 * O_EXCL; a lock whose pid is gone (a start killed by SIGKILL) is taken over.
 */
import fs from 'node:fs';
import path from 'node:path';

export const LOCK_FILE = 'cachier-start.lock';

export class DataDirLockedError extends Error {}

/** Takes the lock of `dir` for this process; returns its release (also run at exit). */
export function lockDataDir(dir: string): () => void {
  const file = path.join(dir, LOCK_FILE);
  // Written aside, then linked into place: a reader never sees a lock without its pid.
  const mine = `${file}.${process.pid}`;
  fs.writeFileSync(mine, `${process.pid}\n`, { mode: 0o600 });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        fs.linkSync(mine, file);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const owner = readPid(file);
      if (owner !== undefined && alive(owner)) {
        throw new DataDirLockedError(`another cachier start (pid ${owner}) is running on --data ${dir}; stop it first`);
      }
      // Stale (its pid is gone): take it over. Two takers race to unlink and link; the
      // loser sees the winner's live pid on its next attempt.
      if (attempt >= 3) throw new DataDirLockedError(`cannot take the lock ${file}`);
      fs.rmSync(file, { force: true });
    }
  } finally {
    fs.rmSync(mine, { force: true });
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    // Only our own: never a lock another start took over.
    if (readPid(file) === process.pid) fs.rmSync(file, { force: true });
  };
  process.once('exit', release);
  return release;
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists, under another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
