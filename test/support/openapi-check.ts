/**
 * Checks recorded API responses against the control plane's own OpenAPI document
 * (`GET /api/openapi.json`): the answer's status must be one the document lists for that
 * path and method, and a JSON body must validate (ajv, JSON Schema 2020-12 as OpenAPI 3.1
 * uses) against the schema listed for it; a status listed without content must come with
 * an empty body. test/support/control.ts runs every `api()` response of the API tests
 * through this, so each API test also checks the document against what the server does.
 *
 * Requests whose path matches no documented path (a 404 from the router) and HEAD
 * requests are not checked. Every checked response is counted in `checkedResponses`.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';

interface Operation {
  responses?: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
}

interface Template {
  readonly path: string;
  readonly re: RegExp;
  readonly literal: number;
}

export const checkedResponses: { method: string; template: string; status: number }[] = [];

export class OpenApiChecker {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly templates: Template[];

  constructor(readonly doc: Document) {
    this.templates = Object.keys(doc.paths).map((path) => ({
      path,
      re: new RegExp(`^${path.split(/\{[^}]+\}/).map(escapeRe).join('[^/]+')}$`),
      literal: path.replace(/\{[^}]+\}/g, '').length,
    }));
  }

  static async load(baseUrl: string): Promise<OpenApiChecker> {
    const res = await fetch(`${baseUrl}/api/openapi.json`, { signal: AbortSignal.timeout(10_000) });
    if (res.status !== 200) throw new Error(`GET /api/openapi.json answered ${res.status}`);
    return new OpenApiChecker((await res.json()) as Document);
  }

  /** The documented path a concrete path belongs to (the most specific), or undefined. */
  templateOf(path: string): string | undefined {
    const bare = path.split('?')[0]!;
    let best: Template | undefined;
    for (const t of this.templates) {
      if (t.re.test(bare) && (!best || t.literal > best.literal)) best = t;
    }
    return best?.path;
  }

  /** Throws when the response does not match the document. */
  check(method: string, path: string, status: number, contentType: string | null, text: string): void {
    const m = method.toLowerCase();
    if (m === 'head') return;
    const template = this.templateOf(path);
    if (template === undefined) return;
    const op = this.doc.paths[template]![m];
    if (!op) return; // no such method on the path: the router's 404
    const responses = op.responses ?? {};
    const key = [String(status), `${Math.floor(status / 100)}XX`, 'default'].find((k) => responses[k] !== undefined);
    const what = `${method} ${path} (${template}) → ${status}`;
    if (key === undefined) throw new Error(`${what}: the OpenAPI document lists no ${status} (it lists ${Object.keys(responses).join(', ')}); body: ${text.slice(0, 200)}`);
    checkedResponses.push({ method: m, template, status });
    const content = responses[key]!.content;
    if (!content) {
      if (text !== '') throw new Error(`${what}: the document lists no body, the server sent ${text.slice(0, 200)}`);
      return;
    }
    const json = content['application/json'];
    if (!json?.schema) return;
    if (!/^application\/json/.test(contentType ?? '')) throw new Error(`${what}: documented as JSON, sent as ${contentType}`);
    const id = `${m} ${template} ${key}`;
    let validate = this.validators.get(id);
    if (!validate) {
      validate = this.ajv.compile(json.schema as object);
      this.validators.set(id, validate);
    }
    const body: unknown = JSON.parse(text);
    if (!validate(body)) {
      throw new Error(`${what}: the body does not match the document's schema: ${this.ajv.errorsText(validate.errors)}; body: ${text.slice(0, 300)}`);
    }
  }
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
