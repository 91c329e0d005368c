/**
 * V8's compiler settings for a process that serves memcache traffic (`cachier node`, and
 * so every node process `cachier start` runs). Set before any request is served: TurboFan
 * reads them when it optimizes a function, so they apply to the request path from its
 * first optimization on.
 *
 * The inlining budget: V8 inlines at most 920 bytes of bytecode into one optimized
 * function (its default `--max-inlined-bytecode-size-cumulative`). The dispatch's one hot
 * function (execute.ts: the handler, the store's lookup and the request ring's record)
 * needs more; at the default, V8 kept the retrieval handler out of it once introspection's
 * record was in, and a 20-key get cost ~5 % more with introspection on than off. With room
 * for ~3,000 bytes the whole path is one function again: introspection's cost fell to
 * ~3.5 %, and every node got 4-6 % faster against memcached (`npm run bench`, README).
 */
import v8 from 'node:v8';

const INLINED_BYTECODE_CUMULATIVE = 3000;

export function tuneV8ForServing(): void {
  v8.setFlagsFromString(`--max-inlined-bytecode-size-cumulative=${INLINED_BYTECODE_CUMULATIVE}`);
}
