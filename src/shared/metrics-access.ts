/**
 * Who may read a `/metrics` endpoint (the control plane's and each node's admin port).
 *
 * - With `--metrics-token T`: a request bearing `Authorization: Bearer T` (or another
 *   credential the caller accepts, such as the control plane's operator token); any
 *   other request is a 401.
 * - Without one, on a loopback `--host` (127.0.0.0/8, ::1, localhost): open, since only
 *   this machine reaches it (other credentials still work).
 * - Without one, on any other host: off. The endpoint answers 404, as if absent, unless
 *   the request bears another accepted credential.
 *
 * Token comparison is constant-time.
 */
import { timingSafeEqual } from 'node:crypto';

export type MetricsDecision = 'allow' | 'unauthorized' | 'off';

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h === '::ffff:127.0.0.1';
}

export function bearerOf(header: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m ? m[1] : undefined;
}

export function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export interface MetricsAccessOptions {
  /** `--metrics-token`; undefined when none was given. */
  readonly token: string | undefined;
  /** The host the endpoint listens on. */
  readonly host: string;
}

/**
 * Decides one request. `otherCredential` says whether the bearer presented is another
 * credential the endpoint accepts (the operator token, the cluster secret).
 */
export async function decideMetricsAccess(
  opts: MetricsAccessOptions, authorization: string | undefined,
  otherCredential: (bearer: string) => boolean | Promise<boolean> = () => false,
): Promise<MetricsDecision> {
  const bearer = bearerOf(authorization);
  if (bearer !== undefined) {
    if (opts.token !== undefined && sameSecret(bearer, opts.token)) return 'allow';
    if (await otherCredential(bearer)) return 'allow';
  }
  if (opts.token !== undefined) return 'unauthorized';
  return isLoopbackHost(opts.host) ? 'allow' : 'off';
}
