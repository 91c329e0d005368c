/**
 * One HTTP request to a control plane that runs as a child process (child-process.ts), on
 * loopback, with a deadline: for tests that kill and restart servers, where every request
 * must end and say how long it took.
 */
import { HOST } from './child-process.ts';

export interface HttpAuth {
  basic?: { username: string; password: string };
  bearer?: string;
}

export interface HttpResult {
  status: number;
  text: string;
  body: any;
  ms: number;
}

/** One HTTP request to the control plane on loopback, 10 s at most. */
export async function http(port: number, method: string, urlPath: string, auth: HttpAuth = {}, json?: unknown, timeoutMs = 10_000): Promise<HttpResult> {
  const headers: Record<string, string> = {};
  if (auth.basic) headers.authorization = `Basic ${Buffer.from(`${auth.basic.username}:${auth.basic.password}`).toString('base64')}`;
  if (auth.bearer) headers.authorization = `Bearer ${auth.bearer}`;
  if (json !== undefined) headers['content-type'] = 'application/json';
  const t0 = Date.now();
  const res = await fetch(`http://${HOST}:${port}${urlPath}`, {
    method, headers, body: json === undefined ? undefined : JSON.stringify(json), signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  return { status: res.status, text, body, ms: Date.now() - t0 };
}
