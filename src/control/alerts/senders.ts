/**
 * The three channels a notification goes out on. Every send ends within `timeoutMs`,
 * whatever the receiver does (never answers, trickles, answers 10 MB): the whole exchange
 * has one deadline, and at most MAX_ANSWER_BYTES of an answer is read before the
 * connection is dropped.
 *
 * - email: SMTP through nodemailer (`--smtp-url smtp://user:pass@host:port`, smtps:// for
 *   TLS from the start; `--smtp-from`).
 * - slack: POST `{"channel","text"}` as JSON to the incoming-webhook URL.
 * - webhook: POST the JSON payload with `X-Cachier-Signature: sha256=<hex HMAC-SHA256 of
 *   the raw body>` keyed with the config's secret (and `X-Cachier-Delivery: <id>`, the same
 *   on every retry, for receivers that drop repeats).
 *
 * Slack and webhook URLs are the tenant's: unless `allowPrivateTargets`
 * (`--alert-allow-private-targets`), the host is resolved once, the send is refused when
 * it is or resolves to a loopback, private, link-local, unique-local, multicast or
 * unspecified address (target-guard.ts), and the connection goes to the address checked.
 * A refused send is not retried (`refused`).
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import nodemailer, { type Transporter } from 'nodemailer';
import type { DeliveryConfigRecord } from '../../catalog/alerts.ts';
import type { AlertMessage } from './message.ts';
import { checkedTarget, pinnedLookup, TargetRefused, type Resolver } from './target-guard.ts';

export const MAX_ANSWER_BYTES = 64 * 1024;
export const SIGNATURE_HEADER = 'x-cachier-signature';

export interface SendResult {
  readonly ok: boolean;
  /** The receiver's answer ("HTTP 200", the SMTP reply) or why it failed. */
  readonly detail: string;
  /** The target was refused (a private address): trying again changes nothing. */
  readonly refused?: boolean;
}

export interface SenderOptions {
  readonly smtpUrl?: string;
  readonly smtpFrom?: string;
  /** Deadline of one send, ms (default 10 s). */
  readonly timeoutMs?: number;
  /** Send to loopback, private, link-local… addresses too (`--alert-allow-private-targets`). */
  readonly allowPrivateTargets?: boolean;
  /** Name resolution (tests); the system's (getaddrinfo) by default. */
  readonly resolve?: Resolver;
}

export function signatureOf(body: string | Buffer, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export class AlertSenders {
  private mailer: Transporter | undefined;
  readonly timeoutMs: number;
  readonly allowPrivateTargets: boolean;

  constructor(private readonly opts: SenderOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.allowPrivateTargets = opts.allowPrivateTargets ?? false;
  }

  /** `deliveryId` goes out as X-Cachier-Delivery (a number, or `test-<n>` for a test notification). */
  async send(config: DeliveryConfigRecord, message: AlertMessage, deliveryId: number | string): Promise<SendResult> {
    const post = { timeoutMs: this.timeoutMs, allowPrivateTargets: this.allowPrivateTargets, ...(this.opts.resolve ? { resolve: this.opts.resolve } : {}) };
    try {
      switch (config.type) {
        case 'email': return await this.email(config.email, message);
        case 'slack': return await postJson(config.slackUrl, JSON.stringify({ channel: config.slackChannel, text: `${message.subject}\n${message.text}` }), {}, post);
        case 'webhook': {
          const body = JSON.stringify(message.payload);
          return await postJson(config.url, body, { [SIGNATURE_HEADER]: signatureOf(body, config.secret), 'x-cachier-delivery': String(deliveryId) }, post);
        }
      }
    } catch (e) {
      return { ok: false, detail: (e as Error).message };
    }
  }

  private async email(to: string, message: AlertMessage): Promise<SendResult> {
    if (!this.opts.smtpUrl) return { ok: false, detail: 'no SMTP server configured (--smtp-url)' };
    this.mailer ??= nodemailer.createTransport(this.opts.smtpUrl, {
      connectionTimeout: this.timeoutMs, greetingTimeout: this.timeoutMs, socketTimeout: this.timeoutMs,
    } as never);
    const mail = this.mailer.sendMail({ from: this.opts.smtpFrom ?? 'cachier@localhost', to, subject: message.subject, text: message.text });
    const info = await withDeadline(mail, this.timeoutMs, 'SMTP');
    return { ok: true, detail: String((info as { response?: string }).response ?? 'sent') };
  }

  close(): void {
    this.mailer?.close();
  }
}

function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

export interface PostOptions {
  readonly timeoutMs: number;
  readonly allowPrivateTargets?: boolean;
  readonly resolve?: Resolver;
}

/**
 * POSTs a JSON body; ok for a 2xx answer. Redirects are not followed (a 3xx fails). The
 * deadline covers the name lookup too. Unless allowPrivateTargets, the host is resolved
 * and checked first (target-guard.ts) and the connection made to that address.
 */
export function postJson(url: string, body: string, headers: Record<string, string>, opts: PostOptions): Promise<SendResult> {
  const { timeoutMs } = opts;
  return new Promise((resolve) => {
    let done = false;
    let req: http.ClientRequest | undefined;
    const finish = (r: SendResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req?.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ ok: false, detail: `timed out after ${timeoutMs} ms` }), timeoutMs);
    const u = new URL(url);
    if (opts.allowPrivateTargets) return void send(u, undefined);
    checkedTarget(u, opts.resolve).then(
      (target) => send(u, target),
      (e: Error) => finish({ ok: false, detail: e.message, ...(e instanceof TargetRefused ? { refused: true } : {}) }),
    );

    function send(u: URL, target: { address: string; family: 4 | 6 } | undefined): void {
      if (done) return;
      const lib = u.protocol === 'https:' ? https : http;
      req = lib.request(u, {
        ...(target ? { lookup: pinnedLookup(target) } : {}),
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'user-agent': 'cachier-alerts', ...headers },
      }, (res) => {
        let read = 0;
        const status = res.statusCode ?? 0;
        const answer = () => finish({ ok: status >= 200 && status < 300, detail: `HTTP ${status}` });
        res.on('data', (chunk: Buffer) => {
          read += chunk.length;
          // Enough of an answer: the status is what counts; the rest is never buffered.
          if (read > MAX_ANSWER_BYTES) answer();
        });
        res.on('end', answer);
        res.on('error', answer);
      });
      req.on('error', (e) => finish({ ok: false, detail: e.message }));
      req.end(body);
    }
  });
}
