/**
 * The receive loop of `src/node/session.ts` without a socket or a store: bytes arrive in
 * chunks, the unparsed tail is kept (pending + chunk), errors drop `consumed` bytes now
 * and `skip` more as they arrive, and `close` or `quit` ends the connection. Feeding one
 * byte stream whole or split at any points must give the same events; every parse result
 * is checked against the parser contract on the way (never throws, consumed within the
 * buffer and at least 1, skip >= 0, fast), and so is what the session does with it:
 * every frame is answered or the connection closed with an error (an error it cannot
 * answer must close, and it may wait for more bytes only while a frame the limits allow
 * could still be arriving).
 */
import { isDeepStrictEqual } from 'node:util';
import type { Command, ParseResult, ProtocolLimits } from '../../src/protocol/command.ts';
import { parseBinary } from '../../src/protocol/binary/parse.ts';
import { parseText } from '../../src/protocol/text/parse.ts';

export type ParseFn = (buf: Buffer, limits: ProtocolLimits) => ParseResult<unknown>;

/** A wire as the session sees it: its parser, and whether it is binary. */
export interface Wire {
  readonly parse: ParseFn;
  /**
   * Binary errors are answered only when they carry a frame (a header to echo); the
   * session answers text errors always (session.ts, `process`).
   */
  readonly binary: boolean;
}
export const TEXT_WIRE: Wire = { parse: parseText, binary: false };
export const BINARY_WIRE: Wire = { parse: parseBinary, binary: true };

/**
 * The most bytes a session may hold waiting for one frame within `limits`: a command line
 * and its CRLF plus a data block and its CRLF (text), a header plus the largest body the
 * binary parser waits for (binary/parse.ts: key + item + 64 bytes of extras). A parser
 * that says "incomplete" past this keeps a client waiting for an answer that never comes,
 * and the node holding its bytes.
 */
export function maxPending(wire: Wire, limits: ProtocolLimits): number {
  return wire.binary
    ? 24 + limits.maxItemSize + limits.maxKeyLength + 64
    : limits.maxLineLength + 2 + limits.maxItemSize + 2;
}

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

/**
 * A single parse call slower than this on a fuzz-sized buffer (microseconds normally), three
 * times over, is pathological: generous, so a busy machine is not a failure. A parser that
 * never returns is caught by the watchdog in parsers.test.ts.
 */
export const SLOW_PARSE_MS = 1000;

function check(cond: boolean, what: string, buf: Buffer): asserts cond {
  if (!cond) throw new ContractError(`${what} (buffer of ${buf.length} bytes: ${preview(buf)})`);
}

export function preview(buf: Buffer, max = 120): string {
  const hex = buf.subarray(0, max).toString('hex');
  return buf.length > max ? `${hex}… (${buf.length} bytes)` : hex;
}

/** Calls the parser once and checks the result against the contract. */
export function parseChecked(wire: Wire, view: Buffer, limits: ProtocolLimits): ParseResult<unknown> {
  let r = timedParse(wire.parse, view, limits);
  // A slow call is timed again before it counts: a GC pause or a busy machine can stall
  // any one call, a pathological input stalls every one.
  for (let retry = 0; r.took >= SLOW_PARSE_MS && retry < 2; retry++) {
    const again = timedParse(wire.parse, view, limits);
    if (again.took < r.took) r = again;
  }
  check(r.took < SLOW_PARSE_MS, `HANG: parse took ${r.took.toFixed(0)} ms, three times`, view);
  return checkResult(wire, r.result, view, limits);
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

function checkResult(wire: Wire, r: ParseResult<unknown>, view: Buffer, limits: ProtocolLimits): ParseResult<unknown> {
  switch (r.type) {
    case 'incomplete':
      check(view.length <= maxPending(wire, limits), `UNANSWERED: still incomplete after ${view.length} bytes, more than any frame within the limits`, view);
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
      check(!wire.binary || r.close === true || r.frame !== undefined, `UNANSWERED: binary error ${r.code} has no frame to answer with and does not close`, view);
      break;
    default:
      check(false, `unknown result type ${(r as { type: string }).type}`, view);
  }
  return r;
}

/** Feeds `chunks` in order through the session loop and records what it would execute. */
export function feed(wire: Wire, chunks: readonly Buffer[], limits: ProtocolLimits): FeedResult {
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
      const r = parseChecked(wire, view, limits);
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
  wire: Wire, bytes: Buffer, points: readonly number[], limits: ProtocolLimits, byteByByte = false,
): FeedResult & { totalParses: number } {
  const whole = feed(wire, [bytes], limits);
  const split = feed(wire, splitAt(bytes, points), limits);
  let totalParses = whole.parses + split.parses;
  sameEvents(whole, split, bytes, points);
  if (byteByByte) {
    const single: Buffer[] = [];
    for (let i = 0; i < bytes.length; i++) single.push(bytes.subarray(i, i + 1));
    const bytewise = feed(wire, single, limits);
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
