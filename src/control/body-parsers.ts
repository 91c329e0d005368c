/**
 * Request bodies as clients really send them. The API document's own example,
 * `curl -d '{"flush_capability":"false"}'`, sends a JSON object under curl's default
 * Content-Type application/x-www-form-urlencoded; so a form-typed body that looks like a
 * JSON object is read as JSON, anything else as `a=b&c=d`. JSON bodies may be empty
 * (clients that set the header on every POST). Other or missing types get the same
 * sniffing. The schemas then validate whatever came out.
 */
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../api/errors.ts';

const BODY_LIMIT = 64 * 1024;

export function registerBodyParsers(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: BODY_LIMIT }, (_req, body, done) => {
    try {
      done(null, parseJson(String(body)));
    } catch (e) {
      done(e as Error, undefined);
    }
  });
  app.addContentTypeParser(
    ['application/x-www-form-urlencoded', 'text/plain', '*'],
    { parseAs: 'string', bodyLimit: BODY_LIMIT },
    (_req, body, done) => {
      try {
        done(null, parseLoose(String(body)));
      } catch (e) {
        done(e as Error, undefined);
      }
    },
  );
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ApiError('BAD_REQUEST', `body is not valid JSON (${(e as Error).message})`);
  }
}

/** JSON if it looks like a JSON object or array, else a URL-encoded form. */
export function parseLoose(text: string): unknown {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) return parseJson(trimmed);
  const out: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(trimmed)) out[k] = v;
  return out;
}
