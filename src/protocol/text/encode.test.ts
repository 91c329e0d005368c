import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_LIMITS, type Command, type ItemView, type Reply } from '../command.ts';
import { ReplyBuffer } from '../reply-buffer.ts';
import { encodeTextError, encodeTextReply } from './encode.ts';
import type { TextFrame } from './frame.ts';
import { parseText } from './parse.ts';

const NOW = 1_000_000;
const b = (s: string): Buffer => Buffer.from(s, 'latin1');

/** Parses one request line (plus data block) into the command and frame the encoder receives. */
function request(text: string): { command: Command; frame: TextFrame } {
  const r = parseText(b(text), DEFAULT_LIMITS);
  if (r.type !== 'request') throw new Error(`${JSON.stringify(text)} did not parse: ${r.type === 'error' ? r.code : r.type}`);
  return { command: r.command, frame: r.frame };
}

/** What the server writes for `text` answered by `reply`. */
function answer(text: string, reply: Reply, now = NOW): string {
  const { command, frame } = request(text);
  const out = new ReplyBuffer(16);
  encodeTextReply(frame, command, reply, out, now);
  return out.take().toString('latin1');
}

function item(key: string, value: string, o: Partial<ItemView> = {}): ItemView {
  return { key: b(key), value: b(value), flags: 0, cas: 1, exptime: 0, lastAccess: NOW, fetched: false, ...o };
}

const values = (...items: (ItemView | null)[]): Reply => ({ kind: 'values', items, rest: 0 });
const stored = (status: 'stored' | 'not_stored' | 'exists' | 'not_found', cas = 0): Reply => ({ kind: 'stored', status, cas });
const deleted = (status: 'deleted' | 'not_found' | 'exists'): Reply => ({ kind: 'deleted', status });
const arith = (status: 'ok' | 'not_found' | 'exists', value = 0n, it: ItemView | null = null): Reply =>
  ({ kind: 'arith', status, value, item: it });
const error = (code: 'NON_NUMERIC' | 'WRITE_FORBIDDEN' | 'VALUE_TOO_LARGE'): Reply => ({ kind: 'error', code });
const OK: Reply = { kind: 'ok' };

// ---- classic -------------------------------------------------------------

test('get lists only the hits, in request order, then END', () => {
  const reply = values(item('a', 'one', { flags: 3, cas: 9 }), null, item('c', 'three\r\n'));
  assert.equal(answer('get a b c\r\n', reply), 'VALUE a 3 3\r\none\r\nVALUE c 0 7\r\nthree\r\n\r\nEND\r\n');
  assert.equal(answer('get a\r\n', values(null)), 'END\r\n');
});

test('gets and gats show the CAS, get and gat do not', () => {
  const reply = values(item('k', 'v', { flags: 4294967295, cas: 2 ** 40 }));
  assert.equal(answer('gets k\r\n', reply), `VALUE k 4294967295 1 ${2 ** 40}\r\nv\r\nEND\r\n`);
  assert.equal(answer('gats 10 k\r\n', reply), `VALUE k 4294967295 1 ${2 ** 40}\r\nv\r\nEND\r\n`);
  assert.equal(answer('gat 10 k\r\n', reply), 'VALUE k 4294967295 1\r\nv\r\nEND\r\n');
});

test('storage statuses read as memcached words', () => {
  assert.equal(answer('set k 0 0 1\r\nv\r\n', stored('stored', 5)), 'STORED\r\n');
  assert.equal(answer('add k 0 0 1\r\nv\r\n', stored('not_stored')), 'NOT_STORED\r\n');
  assert.equal(answer('cas k 0 0 1 3\r\nv\r\n', stored('exists')), 'EXISTS\r\n');
  assert.equal(answer('cas k 0 0 1 3\r\nv\r\n', stored('not_found')), 'NOT_FOUND\r\n');
});

test('the ASCII login answers STORED', () => {
  assert.equal(answer('set user 0 0 4\r\npass\r\n', { kind: 'authenticated' }), 'STORED\r\n');
  assert.equal(answer('set user 0 0 4 noreply\r\npass\r\n', { kind: 'authenticated' }), '');
});

test('delete, incr/decr and touch', () => {
  assert.equal(answer('delete k\r\n', deleted('deleted')), 'DELETED\r\n');
  assert.equal(answer('delete k\r\n', deleted('not_found')), 'NOT_FOUND\r\n');
  assert.equal(answer('incr n 1\r\n', arith('ok', 2n ** 64n - 1n)), '18446744073709551615\r\n');
  assert.equal(answer('decr n 1\r\n', arith('ok', 0n)), '0\r\n');
  assert.equal(answer('incr n 1\r\n', arith('not_found')), 'NOT_FOUND\r\n');
  assert.equal(answer('incr n 1\r\n', arith('exists')), 'EXISTS\r\n');
  assert.equal(answer('touch k 1\r\n', { kind: 'touched', found: true }), 'TOUCHED\r\n');
  assert.equal(answer('touch k 1\r\n', { kind: 'touched', found: false }), 'NOT_FOUND\r\n');
});

test('noreply silences every reply of its request, errors included', () => {
  assert.equal(answer('set k 0 0 1 noreply\r\nv\r\n', stored('stored')), '');
  assert.equal(answer('set k 0 0 1 noreply\r\nv\r\n', error('VALUE_TOO_LARGE')), '');
  assert.equal(answer('delete k noreply\r\n', deleted('not_found')), '');
  assert.equal(answer('incr n 1 noreply\r\n', error('NON_NUMERIC')), '');
  assert.equal(answer('touch k 1 noreply\r\n', { kind: 'touched', found: true }), '');
  assert.equal(answer('flush_all noreply\r\n', OK), '');
  assert.equal(answer('verbosity 1 noreply\r\n', OK), '');
});

test('flush_all, verbosity, stats, version and quit', () => {
  assert.equal(answer('flush_all\r\n', OK), 'OK\r\n');
  assert.equal(answer('verbosity 1\r\n', OK), 'OK\r\n');
  assert.equal(answer('stats reset\r\n', OK), 'RESET\r\n');
  assert.equal(answer('stats\r\n', { kind: 'stats', entries: [['pid', 12], ['version', '1.6.0']] }), 'STAT pid 12\r\nSTAT version 1.6.0\r\nEND\r\n');
  assert.equal(answer('stats items\r\n', { kind: 'stats', entries: [] }), 'END\r\n');
  assert.equal(answer('version\r\n', { kind: 'version', version: '1.2.3' }), 'VERSION 1.2.3\r\n');
  assert.equal(answer('quit\r\n', OK), '');
});

test('an error reply writes its line', () => {
  assert.equal(answer('incr n 1\r\n', error('NON_NUMERIC')), 'CLIENT_ERROR cannot increment or decrement non-numeric value\r\n');
  assert.equal(answer('set k 0 0 1\r\nv\r\n', error('WRITE_FORBIDDEN')),
    'CLIENT_ERROR permission denied: credential lacks write capability\r\n');
});

test('encodeTextError writes the line unless the request was noreply', () => {
  const write = (frame?: TextFrame): string => {
    const out = new ReplyBuffer();
    encodeTextError('BAD_COMMAND_LINE', out, frame);
    return out.take().toString('latin1');
  };
  assert.equal(write(), 'CLIENT_ERROR bad command line format\r\n');
  assert.equal(write(request('set k 0 0 1\r\nv\r\n').frame), 'CLIENT_ERROR bad command line format\r\n');
  assert.equal(write(request('set k 0 0 1 noreply\r\nv\r\n').frame), '');
  assert.equal(write(request('mg k q\r\n').frame), 'CLIENT_ERROR bad command line format\r\n');
  const out = new ReplyBuffer();
  encodeTextError('UNKNOWN_COMMAND', out);
  encodeTextError('LINE_TOO_LONG', out);
  assert.equal(out.take().toString(), 'ERROR\r\nCLIENT_ERROR line too long\r\n');
});

// ---- meta ----------------------------------------------------------------

test('mg hit: VA with the value when v is asked, HD otherwise', () => {
  const it = item('k', 'hello');
  assert.equal(answer('mg k v\r\n', values(it)), 'VA 5\r\nhello\r\n');
  assert.equal(answer('mg k\r\n', values(it)), 'HD\r\n');
  assert.equal(answer('mg k q\r\n', values(it)), 'HD\r\n');
});

test('mg returns its flags in request order', () => {
  const it = item('key', 'hello', { flags: 7, cas: 99, exptime: NOW + 30, lastAccess: NOW - 12, fetched: true });
  assert.equal(answer('mg key s v t c f h l Oabc k\r\n', values(it)), 'VA 5 s5 t30 c99 f7 h1 l12 Oabc kkey\r\nhello\r\n');
  assert.equal(answer('mg key k Ox t\r\n', values(item('key', '', { fetched: false }))), 'HD kkey Ox t-1\r\n');
  assert.equal(answer('mg key h\r\n', values(item('key', ''))), 'HD h0\r\n');
});

test('mg miss: EN echoing O and k, nothing at all with q', () => {
  assert.equal(answer('mg k v\r\n', values(null)), 'EN\r\n');
  assert.equal(answer('mg k v Oop k s\r\n', values(null)), 'EN Oop kk\r\n');
  assert.equal(answer('mg k v q Oop\r\n', values(null)), '');
});

test('mg with a base64 key echoes it base64 with a b flag', () => {
  const raw = Buffer.from([0, 1, 0xfe, 0xff]);
  const b64 = raw.toString('base64');
  assert.equal(answer(`mg ${b64} b k v\r\n`, values({ ...item('', 'x'), key: raw })), `VA 1 k${b64} b\r\nx\r\n`);
  assert.equal(answer(`mg ${b64} b k\r\n`, values(null)), `EN k${b64} b\r\n`);
});

test('mg C withholds the value when the CAS matches', () => {
  const it = item('k', 'v', { cas: 5 });
  assert.equal(answer('mg k v C5 c\r\n', values(it)), 'HD c5\r\n');
  assert.equal(answer('mg k v C6 c\r\n', values(it)), 'VA 1 c5\r\nv\r\n');
});

test('ms: HD NS EX NF, q hides only HD', () => {
  assert.equal(answer('ms k 1\r\nv\r\n', stored('stored', 3)), 'HD\r\n');
  assert.equal(answer('ms k 1 q\r\nv\r\n', stored('stored', 3)), '');
  assert.equal(answer('ms k 1 q\r\nv\r\n', stored('not_stored')), 'NS\r\n');
  assert.equal(answer('ms k 1 ME\r\nv\r\n', stored('not_stored')), 'NS\r\n');
  assert.equal(answer('ms k 1 C1\r\nv\r\n', stored('exists')), 'EX\r\n');
  assert.equal(answer('ms k 1 C1 q\r\nv\r\n', stored('not_found')), 'NF\r\n');
});

test('ms returns O k c s in request order', () => {
  assert.equal(answer('ms key 3 c Oz k s T0\r\nabc\r\n', stored('stored', 77)), 'HD c77 Oz kkey s3\r\n');
  assert.equal(answer('ms key 3 Oz k\r\nabc\r\n', stored('not_stored')), 'NS Oz kkey\r\n');
  const b64 = b('key').toString('base64');
  assert.equal(answer(`ms ${b64} 1 b k\r\nv\r\n`, stored('stored', 1)), `HD k${b64} b\r\n`);
});

test('md: HD NF EX echoing O and k; q hides only HD', () => {
  assert.equal(answer('md k\r\n', deleted('deleted')), 'HD\r\n');
  assert.equal(answer('md k q\r\n', deleted('deleted')), '');
  assert.equal(answer('md k q Oo k\r\n', deleted('not_found')), 'NF Oo kk\r\n');
  assert.equal(answer('md k C9\r\n', deleted('exists')), 'EX\r\n');
});

test('ma: HD or VA with the new number, NF, EX', () => {
  const it = item('n', '15', { cas: 4, exptime: NOW + 9 });
  assert.equal(answer('ma n\r\n', arith('ok', 15n, it)), 'HD\r\n');
  assert.equal(answer('ma n v\r\n', arith('ok', 15n, it)), 'VA 2\r\n15\r\n');
  assert.equal(answer('ma n v t c Ox k\r\n', arith('ok', 15n, it)), 'VA 2 t9 c4 Ox kn\r\n15\r\n');
  assert.equal(answer('ma n q\r\n', arith('ok', 15n, it)), '');
  assert.equal(answer('ma n q v\r\n', arith('ok', 15n, it)), 'VA 2\r\n15\r\n');
  assert.equal(answer('ma n q Ox k t\r\n', arith('not_found')), 'NF Ox kn\r\n');
  assert.equal(answer('ma n C1\r\n', arith('exists')), 'EX\r\n');
  assert.equal(answer('ma n v\r\n', arith('ok', 2n ** 64n - 1n, item('n', ''))), 'VA 20\r\n18446744073709551615\r\n');
});

test('meta errors are written even with q', () => {
  assert.equal(answer('ma n q\r\n', error('NON_NUMERIC')), 'CLIENT_ERROR cannot increment or decrement non-numeric value\r\n');
  assert.equal(answer('ms k 1 q\r\nv\r\n', error('VALUE_TOO_LARGE')), 'SERVER_ERROR object too large for cache\r\n');
  assert.equal(answer('mg k q\r\n', error('WRITE_FORBIDDEN')), 'CLIENT_ERROR permission denied: credential lacks write capability\r\n');
});

test('mn answers MN', () => {
  assert.equal(answer('mn\r\n', OK), 'MN\r\n');
});

test('me: item metadata or EN', () => {
  const it = item('k', 'hello', { exptime: NOW + 50, lastAccess: NOW - 3, cas: 12, fetched: true });
  const debug = (i: ItemView | null): Reply => ({ kind: 'debug', item: i, now: NOW });
  assert.equal(answer('me k\r\n', debug(it)), 'ME k exp=50 la=3 cas=12 fetch=yes cls=1 size=5\r\n');
  assert.equal(answer('me k\r\n', debug(item('k', '', { fetched: false }))), 'ME k exp=-1 la=0 cas=1 fetch=no cls=1 size=0\r\n');
  assert.equal(answer('me k\r\n', debug(null)), 'EN\r\n');
  const b64 = b('k!').toString('base64');
  assert.equal(answer(`me ${b64} b\r\n`, debug(item('k!', ''))), `ME ${b64} exp=-1 la=0 cas=1 fetch=no cls=1 size=0\r\n`);
});

test('replies for a pipelined batch accumulate in one buffer', () => {
  const out = new ReplyBuffer(8);
  const batch: [string, Reply][] = [
    ['mg a v q\r\n', values(null)],
    ['mg b v q\r\n', values(item('b', 'B'))],
    ['set c 0 0 1\r\nC\r\n', stored('stored')],
    ['mn\r\n', OK],
  ];
  for (const [text, reply] of batch) {
    const { command, frame } = request(text);
    encodeTextReply(frame, command, reply, out, NOW);
  }
  assert.equal(out.take().toString(), 'VA 1\r\nB\r\nSTORED\r\nMN\r\n');
});

test('metadump: memcached 1.6 lines with URL-encoded keys, END only after the last part', () => {
  const dump = (items: { key: Buffer; size: number; exptime: number; lastAccess: number; cas: number; fetched: boolean }[], next: number | null): Reply =>
    ({ kind: 'metadump', items, itemOverhead: 51, next });
  const one = { key: b('user:1'), size: 10, exptime: 0, lastAccess: 1_700_000_000, cas: 42, fetched: true };
  const two = { key: b('a b%~._-Z9'), size: 0, exptime: 1_700_000_100, lastAccess: 1_700_000_001, cas: 2 ** 53 - 1, fetched: false };
  assert.equal(answer('lru_crawler metadump all\r\n', dump([one, two], null)),
    'key=user%3A1 exp=-1 la=1700000000 cas=42 fetch=yes cls=1 size=67\n'
    + `key=a%20b%25~._-Z9 exp=1700000100 la=1700000001 cas=${2 ** 53 - 1} fetch=no cls=1 size=61\nEND\r\n`);
  assert.equal(answer('lru_crawler metadump all\r\n', dump([one], 7)), 'key=user%3A1 exp=-1 la=1700000000 cas=42 fetch=yes cls=1 size=67\n');
  assert.equal(answer('lru_crawler metadump all\r\n', dump([], null)), 'END\r\n');
  // Every byte value: letters, digits and -._~ bare, the rest %XX in upper case.
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const line = answer('lru_crawler metadump all\r\n', dump([{ ...one, key: all }], null));
  let want = '';
  for (let c = 0; c < 256; c++) {
    const ch = String.fromCharCode(c);
    want += /[A-Za-z0-9]/.test(ch) || '-._~'.includes(ch) ? ch : `%${c < 16 ? '0' : ''}${c.toString(16).toUpperCase()}`;
  }
  assert.equal(line, `key=${want} exp=-1 la=1700000000 cas=42 fetch=yes cls=1 size=${256 + 10 + 51}\nEND\r\n`);
});
