/** Polling with a deadline, for black-box tests that wait on another process or node. */
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The deadline for what the product does "within a second" (a catalog change reaching a
 * node, a connection closed, a reply): generous, so a busy machine is never why a test
 * fails. The figures themselves come from the soak and the benchmarks.
 */
export const PROMPTLY_MS = 10_000;

/** Retries `attempt` every `everyMs` until it returns something other than undefined, or throws at the deadline. */
export async function until<T>(what: string, deadline: number, attempt: () => Promise<T | undefined>, everyMs = 20): Promise<T> {
  let last: unknown;
  for (;;) {
    try {
      const got = await attempt();
      if (got !== undefined) return got;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not by the deadline${last ? ` (${(last as Error).message})` : ''}`);
    await sleep(everyMs);
  }
}
