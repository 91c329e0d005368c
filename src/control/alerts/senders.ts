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
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import nodemailer, { type Transporter } from 'nodemailer';
import type { DeliveryConfigRecord } from '../../catalog/alerts.ts';
import type { AlertMessage } from './message.ts';

export const MAX_ANSWER_BYTES = 64 * 1024;
export const SIGNATURE_HEADER = 'x-cachier-signature';

export interface SendResult {
  readonly ok: boolean;
  /** The receiver's answer ("HTTP 200", the SMTP reply) or why it failed. */
  readonly detail: string;
}

export interface SenderOptions {
  readonly smtpUrl?: string;
  readonly smtpFrom?: string;
  /** Deadline of one send, ms (default 10 s). */
  readonly timeoutMs?: number;
}

export function signatureOf(body: string | Buffer, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export class AlertSenders {
  private mailer: Transporter | undefined;
  readonly timeoutMs: number;

  constructor(private readonly opts: SenderOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  async send(config: DeliveryConfigRecord, message: AlertMessage, deliveryId: number): Promise<SendResult> {
    try {
      switch (config.type) {
        case 'email': return await this.email(config.email, message);
        case 'slack': return await postJson(config.slackUrl, JSON.stringify({ channel: config.slackChannel, text: `${message.subject}\n${message.text}` }), {}, this.timeoutMs);
        case 'webhook': {
          const body = JSON.stringify(message.payload);
          return await postJson(config.url, body, { [SIGNATURE_HEADER]: signatureOf(body, config.secret), 'x-cachier-delivery': String(deliveryId) }, this.timeoutMs);
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

/** POSTs a JSON body; ok for a 2xx answer. Redirects are not followed (a 3xx fails). */
export function postJson(url: string, body: string, headers: Record<string, string>, timeoutMs: number): Promise<SendResult> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: SendResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve(r);
    };
    const u = new URL(url);
    const lib = u.protocol === 'https:' ? https : http;
    const req = lib.request(u, {
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
    const timer = setTimeout(() => finish({ ok: false, detail: `timed out after ${timeoutMs} ms` }), timeoutMs);
    req.on('error', (e) => finish({ ok: false, detail: e.message }));
    req.end(body);
  });
}
