/**
 * Tests that need a tool from outside npm (a PostgreSQL server, php, a JDK…) skip without
 * it on a developer's machine. Under CI=true they fail instead: CI installs every tool
 * (scripts/install-test-deps.sh), so a missing one is a broken CI, not a reason to pass.
 */
import { test, type TestContext } from 'node:test';

export const IN_CI = /^(true|1)$/i.test(process.env.CI ?? '');

const failure = (reason: string) =>
  new Error(`${reason}; CI=true, so this fails instead of skipping (install it: bash scripts/install-test-deps.sh)`);

/**
 * For a `skip` option: returns `reason` (the tests skip), and under CI=true also registers
 * a test that fails with it, so the run fails. Call it at a file's top level.
 */
export function skipUnlessCI(reason: string | undefined): string | undefined {
  if (reason !== undefined && IN_CI) {
    test(`required tool: ${reason}`, () => {
      throw failure(reason);
    });
  }
  return reason;
}

/** Inside a test: skips it with `reason`, or fails it under CI=true. */
export function skipOrFail(t: TestContext, reason: string): void {
  if (IN_CI) throw failure(reason);
  t.skip(reason);
}
