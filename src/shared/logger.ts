/**
 * The one logger of a cachier process: pino's JSON lines (Fastify's own logger), made
 * once by the CLI and passed down; each part takes a child (`part`: control, node,
 * catalog, sampler, alerts). Nothing in src/ logs through a global.
 *
 * Lines go to stderr: stdout carries what the CLI prints for people and scripts (the
 * ready lines, the first credential, `--json` answers), which must stay parseable.
 * Writes are asynchronous (the cache nodes of `cachier start` share this event loop, and
 * a stalled reader of stderr must not stall them); past MAX_BUFFERED bytes waiting, lines
 * are dropped rather than held, and what is buffered is flushed when the process exits.
 *
 * What may never reach a line: passwords, tokens, sign-in links, webhook secrets or URLs,
 * key or value bytes. Callers log ids, counts and addresses; as a second net, fields with
 * secret-looking names are censored (REDACT) and errors are reduced to type, code,
 * message and stack (an HTTP parser error's rawPacket holds the request's headers).
 *
 * `--log-format pretty` turns each line into one short human line (prettyLine) for a
 * terminal, from the same JSON, so it shows no more than the JSON would.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LoggerOptions {
  readonly level?: LogLevel;
  readonly format?: LogFormat;
  /** Where lines go (tests); stderr by default. */
  readonly destination?: DestinationStream;
  /** Colour the pretty format's levels (default: when stderr is a terminal). */
  readonly color?: boolean;
}

/** Bytes of lines waiting for stderr beyond which new lines are dropped. */
const MAX_BUFFERED = 16 * 1024 * 1024;

/** Field names censored wherever they appear (one level deep), whatever a caller passed. */
const REDACT = [
  'password', 'token', 'secret', 'authorization', 'cookie', 'url', 'slackUrl', 'sso', 'value',
  '*.password', '*.token', '*.secret', '*.authorization', '*.cookie', '*.url', '*.slackUrl', '*.sso', '*.value',
];

export function isLogLevel(v: string): v is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(v);
}

export function isLogFormat(v: string): v is LogFormat {
  return (LOG_FORMATS as readonly string[]).includes(v);
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const format = opts.format ?? 'json';
  const out = opts.destination ?? pino.destination({ dest: 2, sync: false, minLength: 0, maxLength: MAX_BUFFERED });
  const color = opts.color ?? process.stderr.isTTY === true;
  const destination: DestinationStream = format === 'pretty' ? { write: (line: string) => out.write(prettyLine(line, color)) } : out;
  return pino({
    level: opts.level ?? 'info',
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    serializers: { err: errorFields },
    redact: { paths: REDACT, censor: '[redacted]' },
  }, destination);
}

/** A logger that writes nothing (the default of every part that takes one). */
export const silentLogger: Logger = pino({ level: 'silent' });

/** What of an error is logged: never its other properties (rawPacket, a config, a query's parameters). */
function errorFields(e: unknown): unknown {
  if (!(e instanceof Error)) return e;
  const code = (e as { code?: unknown }).code;
  return { type: e.name, message: e.message, ...(code === undefined ? {} : { code }), stack: e.stack };
}

/** Fields every line has, which the pretty format shows in its own places or not at all. */
const PLACED = new Set(['time', 'level', 'pid', 'hostname', 'msg', 'part', 'node', 'reqId']);
const LEVEL_COLORS: Record<string, string> = { fatal: '35', error: '31', warn: '33', info: '32', debug: '36', trace: '90' };

/** One JSON log line as a human one: `12:00:01.234 INFO  [node 127.0.0.1:11211] message key=value …`. */
export function prettyLine(line: string, color = false): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const time = typeof o.time === 'string' ? o.time.slice(11, 23) : '';
  const level = String(o.level ?? '').toUpperCase().padEnd(5);
  const where = [o.part, o.node, o.reqId].filter((x) => x !== undefined).join(' ');
  const fields = Object.entries(o)
    .filter(([k]) => !PLACED.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' && /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v)}`);
  const shown = color ? `\x1b[${LEVEL_COLORS[String(o.level)] ?? '0'}m${level}\x1b[0m` : level;
  return `${time} ${shown} ${where ? `[${where}] ` : ''}${String(o.msg ?? '')}${fields.length ? `  ${fields.join(' ')}` : ''}\n`;
}
