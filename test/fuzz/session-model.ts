/**
 * The receive loop of `src/node/session.ts` without a socket or a store: bytes arrive in
 * chunks, the unparsed tail is kept (pending + chunk), errors drop `consumed` bytes now
 * and `skip` more as they arrive, and `close` or `quit` ends the connection. Feeding one
 * byte stream whole or split at any points must give the same events; every parse result
 * is checked against the parser contract on the way (never throws, consumed within the
 * buffer and at least 1, skip >= 0, fast).
 */
import { isDeepStrictEqual } from 'node:util';
import type { Command, ParseResult, ProtocolLimits } from '../../src/protocol/command.ts';

export type ParseFn = (buf: Buffer, limits: ProtocolLimits) => ParseResult<unknown>;

export type FeedEvent =
  | { readonly type: 'request'; readonly command: Command; readonly frame: unknown }
  | { readonly type: 'error'; readonly code: string; readonly frame: unknown };

export interface FeedResult {
  readonly events: FeedEvent[];
  /** The connection was closed by an error with `close`, or by quit. */
  readonly closed: boolean;
  /** Calls into the parser. */
  readonly parses: number;
}

/** A broken parser contract: a bug in the parser, never in the input. */
export class ContractError extends Error {
  override name = 'ContractError';
}

/** A single parse call slower than this on a fuzz-sized buffer counts as a hang. */
export const SLOW_PARSE_MS = 250;

function check(cond: boolean, what: string, buf: Buffer): asserts cond {
  if (!cond) throw new ContractError(`${what} (buffer of ${buf.length} bytes: ${preview(buf)})`);
}

export function preview(buf: Buffer, max = 120): string {
  const hex = buf.subarray(0, max).toString('hex');
  return buf.length > max ? `${hex}… (${buf.length} bytes)` : hex;
}

/** Calls the parser once and checks the result against the contract. */
export function parseChecked(parse: ParseFn, view: Buffer, limits: ProtocolLimits): ParseResult<unknown> {
  let r = timedParse(parse, view, limits);
  // A slow call is timed again before it counts: a GC pause or a busy machine can stall
  // any one call, a pathological input stalls every one.
  for (let retry = 0; r.took >= SLOW_PARSE_MS && retry < 2; retry++) {
    const again = timedParse(parse, view, limits);
    if (again.took < r.took) r = again;
  }
  check(r.took < SLOW_PARSE_MS, `HANG: parse took ${r.took.toFixed(0)} ms, three times`, view);
  return checkResult(r.result, view);
}

function timedParse(parse: ParseFn, view: Buffer, limits: ProtocolLimits): { result: ParseResult<unknown>; took: number } {
  const started = performance.now();
  try {
    const result = parse(view, limits);
    return { result, took: performance.now() - started };
  } catch (e) {
    throw new ContractError(`parser threw ${(e as Error).stack ?? e} on ${preview(view)}`);
  }
}

function checkResult(r: ParseResult<unknown>, view: Buffer): ParseResult<unknown> {
  switch (r.type) {
    case 'incomplete':
      break;
    case 'request':
      check(Number.isInteger(r.consumed) && r.consumed >= 1 && r.consumed <= view.length,
        `request consumed ${r.consumed} of ${view.length}`, view);
      break;
    case 'error':
      check(Number.isInteger(r.consumed) && r.consumed >= 0 && r.consumed <= view.length,
        `error consumed ${r.consumed} of ${view.length}`, view);
      // An error that neither closes nor consumes would spin the session loop forever.
      check(r.close === true || r.consumed >= 1, `error ${r.code} consumed 0 without closing`, view);
      check(r.skip === undefined || (Number.isInteger(r.skip) && r.skip >= 0), `skip ${r.skip}`, view);
      break;
    default:
      check(false, `unknown result type ${(r as { type: string }).type}`, view);
  }
  return r;
}

/** Feeds `chunks` in order through the session loop and records what it would execute. */
export function feed(parse: ParseFn, chunks: readonly Buffer[], limits: ProtocolLimits): FeedResult {
  const events: FeedEvent[] = [];
  let pending: Buffer | undefined;
  let skip = 0;
  let closed = false;
  let parses = 0;
  for (let chunk of chunks) {
    if (closed) break;
    if (skip > 0) {
      const n = Math.min(skip, chunk.length);
      skip -= n;
      chunk = chunk.subarray(n);
      if (chunk.length === 0) continue;
    }
    const buf = pending ? Buffer.concat([pending, chunk]) : chunk;
    pending = undefined;
    let offset = 0;
    let rounds = 0;
    while (offset < buf.length && !closed) {
      check(++rounds <= buf.length + 1, 'session loop made no progress', buf);
      const view = offset === 0 ? buf : buf.subarray(offset);
      const r = parseChecked(parse, view, limits);
      parses++;
      if (r.type === 'incomplete') break;
      if (r.type === 'error') {
        events.push({ type: 'error', code: r.code, frame: r.frame });
        if (r.close) {
          closed = true;
          break;
        }
        offset += r.consumed;
        if (r.skip) {
          const n = Math.min(r.skip, buf.length - offset);
          offset += n;
          skip = r.skip - n;
        }
        continue;
      }
      offset += r.consumed;
      events.push({ type: 'request', command: r.command, frame: r.frame });
      if (r.command.kind === 'quit') closed = true;
    }
    if (offset < buf.length && !closed) pending = Buffer.from(buf.subarray(offset));
  }
  return { events, closed, parses };
}

/** Splits `bytes` at the given offsets (any order, duplicates and out-of-range ones ignored). */
export function splitAt(bytes: Buffer, points: readonly number[]): Buffer[] {
  const cuts = [...new Set(points.filter((p) => p > 0 && p < bytes.length))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const c of cuts) {
    chunks.push(bytes.subarray(from, c));
    from = c;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

/**
 * The core property for any bytes: fed whole, fed in the given chunks and fed one byte
 * at a time (short streams only) the session sees the same events. Returns the whole
 * feeding's result.
 */
export function checkSplitInvariance(
  parse: ParseFn, bytes: Buffer, points: readonly number[], limits: ProtocolLimits, byteByByte = false,
): FeedResult & { totalParses: number } {
  const whole = feed(parse, [bytes], limits);
  const split = feed(parse, splitAt(bytes, points), limits);
  let totalParses = whole.parses + split.parses;
  sameEvents(whole, split, bytes, points);
  if (byteByByte) {
    const single: Buffer[] = [];
    for (let i = 0; i < bytes.length; i++) single.push(bytes.subarray(i, i + 1));
    const bytewise = feed(parse, single, limits);
    totalParses += bytewise.parses;
    sameEvents(whole, bytewise, bytes, 'every byte');
  }
  return { ...whole, totalParses };
}

function sameEvents(a: FeedResult, b: FeedResult, bytes: Buffer, points: readonly number[] | string): void {
  if (a.closed === b.closed && isDeepStrictEqual(a.events, b.events)) return;
  const i = firstDifference(a.events, b.events);
  throw new ContractError(
    `split at ${JSON.stringify(points)} changed event ${i}: whole ${describe(a.events[i])} (closed ${a.closed}, ${a.events.length} events)`
    + ` vs split ${describe(b.events[i])} (closed ${b.closed}, ${b.events.length} events); input ${preview(bytes)}`,
  );
}

function firstDifference(a: readonly FeedEvent[], b: readonly FeedEvent[]): number {
  let i = 0;
  while (i < a.length && i < b.length && isDeepStrictEqual(a[i], b[i])) i++;
  return i;
}

export function describe(e: FeedEvent | undefined): string {
  if (e === undefined) return 'nothing';
  if (e.type === 'error') return `error ${e.code}`;
  return `request ${JSON.stringify(e.command, (_k, v: unknown) =>
    typeof v === 'bigint' ? `${v}n` : v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer'
      ? Buffer.from((v as { data: number[] }).data).toString('latin1') : v)}`;
}
