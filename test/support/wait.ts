/** Waiting with a deadline, for black-box tests that wait on another process or node: the one sleep and until. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The deadline for what the product does "within a second" (a catalog change reaching a
 * node, a connection closed, a reply): generous, so a busy machine is never why a test
 * fails. The figures themselves come from the soak and the benchmarks.
 */
export const PROMPTLY_MS = 10_000;

/**
 * Retries `attempt` every `everyMs` until it returns something other than undefined or
 * false, or throws at the deadline (ms since the epoch). `what` names the wait in that
 * error; as a function it is asked then, so it can say how far things got.
 */
export async function until<T>(
  what: string | (() => string), deadline: number, attempt: () => T | undefined | false | Promise<T | undefined | false>, everyMs = 20,
): Promise<T> {
  let last: unknown;
  for (;;) {
    try {
      const got = await attempt();
      if (got !== undefined && got !== false) return got;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      const name = typeof what === 'function' ? what() : what;
      throw new Error(`${name}: not by the deadline${last ? ` (${(last as Error).message})` : ''}`);
    }
    await sleep(everyMs);
  }
}
