/** Runs bench/load/main.ts as its own process on the load core and returns its JSON answer. */
import type { FillResult, FillSpec, LoadResult, LoadSpec } from '../load/spec.ts';
import { LOAD_CORE, pinned, runBounded } from './processes.ts';
import { REPO_ROOT } from './servers.ts';

export function runLoad(spec: Exclude<LoadSpec, FillSpec>, onStart?: (pid: number) => void): Promise<LoadResult>;
export function runLoad(spec: FillSpec, onStart?: (pid: number) => void): Promise<FillResult>;
export async function runLoad(spec: LoadSpec, onStart?: (pid: number) => void): Promise<LoadResult | FillResult> {
  return runLoadOn(LOAD_CORE, spec, onStart);
}

/** The same on `cores` (taskset -c syntax: "2" or "2,3"): the scaling bench runs several loaders. */
export function runLoadOn(cores: number | string, spec: Exclude<LoadSpec, FillSpec>, onStart?: (pid: number) => void): Promise<LoadResult>;
export function runLoadOn(cores: number | string, spec: FillSpec, onStart?: (pid: number) => void): Promise<FillResult>;
export function runLoadOn(cores: number | string, spec: LoadSpec, onStart?: (pid: number) => void): Promise<LoadResult | FillResult>;
export async function runLoadOn(cores: number | string, spec: LoadSpec, onStart?: (pid: number) => void): Promise<LoadResult | FillResult> {
  const budgetMs = spec.mode === 'fill' ? 300_000 : (spec.warmupSeconds + spec.seconds + 30) * 1000;
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const r = await runBounded(
    pinned(cores, [process.execPath, '--import', 'tsx', 'bench/load/main.ts', JSON.stringify(spec)]),
    budgetMs,
    { cwd: REPO_ROOT, env },
    onStart,
  );
  const last = r.stdout.trim().split('\n').pop() ?? '';
  if (r.code !== 0 || !last.startsWith('{')) {
    throw new Error(`load generator failed (code ${r.code}, timed out ${r.timedOut}):\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-3000)}`);
  }
  return JSON.parse(last) as LoadResult | FillResult;
}
