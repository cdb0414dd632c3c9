import { performance } from 'node:perf_hooks';
import nodemailer from 'nodemailer';
import type { EmailMessage, EmailResult, Mailer } from '../domain/ports';

export interface SmtpMailerOptions {
  /** `smtp://user:pass@host:587` or `smtps://…:465`; nodemailer URL options apply (`?pool=true`). */
  url: string;
  from: string;
  connectTimeoutMs?: number;
  /** Socket inactivity limit for one message. */
  socketTimeoutMs?: number;
}

export interface SmtpMailer extends Mailer {
  close(): void;
}

const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ETIMEOUT']);

/** E-mail over SMTP (nodemailer, pooled connections). SMTP failures come back as results. */
export function createSmtpMailer(options: SmtpMailerOptions): SmtpMailer {
  const transport = nodemailer.createTransport({
    url: options.url,
    pool: true,
    maxConnections: 4,
    connectionTimeout: options.connectTimeoutMs ?? 10_000,
    greetingTimeout: options.connectTimeoutMs ?? 10_000,
    socketTimeout: options.socketTimeoutMs ?? 30_000,
  });

  return {
    async send(message: EmailMessage): Promise<EmailResult> {
      const started = performance.now();
      const latencyMs = () => Math.round(performance.now() - started);
      try {
        const info = (await transport.sendMail({
          from: options.from,
          to: message.to,
          subject: message.subject,
          text: message.text,
          html: message.html,
          messageId: message.messageId,
          attachments: message.attachments.map((a) => ({
            filename: a.filename,
            content: a.content,
            contentType: a.contentType,
          })),
        })) as { response?: string };
        return { kind: 'sent', latencyMs: latencyMs(), response: info.response ?? '' };
      } catch (err) {
        const e = err as { responseCode?: number; code?: string; message?: string };
        const responseCode = typeof e.responseCode === 'number' ? e.responseCode : null;
        return {
          kind: 'error',
          responseCode,
          error:
            responseCode !== null
              ? 'rejected'
              : e.code !== undefined && TIMEOUT_CODES.has(e.code)
                ? 'timeout'
                : 'network',
          message: `${e.code ?? 'SMTP'}: ${e.message ?? String(err)}`,
          latencyMs: latencyMs(),
        };
      }
    },
    close: () => transport.close(),
  };
}
