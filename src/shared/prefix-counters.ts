/**
 * One watched prefix's counters on one node: what the node keeps
 * (src/introspection/watched-prefixes.ts), serves on its admin endpoint
 * (`GET …/introspection/prefixes`) and the control plane reads back (src/control).
 * keys and bytes are gauges; hits, misses and mutations count since watching.
 */
export interface WatchedPrefixCounters {
  readonly id: number;
  readonly keys: number;
  readonly bytes: number;
  readonly hits: number;
  readonly misses: number;
  readonly mutations: number;
  /** The walk counting existing keys in has not finished: keys and bytes are still low. */
  readonly scanning: boolean;
}
