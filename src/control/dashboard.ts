/**
 * The web dashboard at `/`: `dashboard/` (plain TypeScript + DOM, uPlot for charts) is
 * bundled by esbuild in memory, never written to disk, so `npm ci && npm start` serves it
 * with no build step and nothing built is committed. The output depends only on the
 * sources and the locked package versions, so it is the same on every machine.
 *
 * The bundle is built once per process, on first use: a `listen()` warms it up, and a
 * test that only `inject()`s never pays for it unless it asks for a page. Assets are
 * served under content-hashed names (cached for a year); `index.html` is revalidated on
 * every load (ETag), so a new build reaches browsers at once.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

const DASHBOARD_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'dashboard');

interface Asset {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
  readonly cacheControl: string;
}

interface Bundle {
  readonly index: Asset;
  /** By URL path, e.g. `/assets/app-3F2A….js`. */
  readonly files: ReadonlyMap<string, Asset>;
}

const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';

/** Everything the page loads comes from this origin; no inline script or style. */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

function asset(body: Buffer | string, type: string, cacheControl: string): Asset {
  const buf = typeof body === 'string' ? Buffer.from(body) : body;
  const etag = `"${createHash('sha256').update(buf).digest('base64url').slice(0, 27)}"`;
  return { body: buf, type, etag, cacheControl };
}

/** Bundles dashboard/src/main.ts (and the CSS it imports) in memory. */
export async function buildDashboard(): Promise<Bundle> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    absWorkingDir: DASHBOARD_DIR,
    entryPoints: { app: 'src/main.ts' },
    bundle: true,
    write: false,
    outdir: 'out',
    entryNames: '[name]-[hash]',
    format: 'esm',
    platform: 'browser',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    minify: true,
    legalComments: 'eof',
    charset: 'utf8',
    logLevel: 'silent',
  });
  const files = new Map<string, Asset>();
  let js: string | undefined;
  let css: string | undefined;
  for (const out of result.outputFiles) {
    const name = path.basename(out.path);
    const url = `/assets/${name}`;
    if (name.endsWith('.js')) {
      js = url;
      files.set(url, asset(Buffer.from(out.contents), 'text/javascript; charset=utf-8', IMMUTABLE));
    } else if (name.endsWith('.css')) {
      css = url;
      files.set(url, asset(Buffer.from(out.contents), 'text/css; charset=utf-8', IMMUTABLE));
    }
  }
  if (!js || !css) throw new Error('dashboard build produced no app.js/app.css');
  const template = await readFile(path.join(DASHBOARD_DIR, 'index.html'), 'utf8');
  const html = template.replace('%APP_JS%', js).replace('%APP_CSS%', css);
  files.set('/favicon.svg', asset(await readFile(path.join(DASHBOARD_DIR, 'favicon.svg')), 'image/svg+xml', 'public, max-age=86400'));
  return { index: asset(html, 'text/html; charset=utf-8', REVALIDATE), files };
}

let shared: Promise<Bundle> | undefined;

/** One build per process, shared by every app in it; a failed build is retried next time. */
function bundle(): Promise<Bundle> {
  shared ??= buildDashboard().catch((e: unknown) => {
    shared = undefined;
    throw e;
  });
  return shared;
}

function send(request: FastifyRequest, reply: FastifyReply, file: Asset, csp: boolean): FastifyReply {
  reply
    .header('cache-control', file.cacheControl)
    .header('etag', file.etag)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer');
  if (csp) reply.header('content-security-policy', CSP).header('x-frame-options', 'DENY');
  if (request.headers['if-none-match'] === file.etag) return reply.code(304).send();
  return reply.type(file.type).send(file.body);
}

export async function registerDashboard(app: FastifyInstance): Promise<void> {
  app.addHook('onListen', async () => {
    bundle().catch((e: unknown) => app.log.error({ event: 'dashboard_build_failed', err: e }, 'dashboard build failed'));
  });

  app.get('/', async (request, reply) => send(request, reply, (await bundle()).index, true));
  app.get('/index.html', async (_request, reply) => reply.redirect('/', 301));

  const serveFile = async (request: FastifyRequest, reply: FastifyReply) => {
    const file = (await bundle()).files.get(request.url.split('?')[0]!);
    if (!file) return reply.callNotFound();
    return send(request, reply, file, false);
  };
  app.get('/assets/:file', serveFile);
  app.get('/favicon.svg', serveFile);
}
