/**
 * The completion e-mail through a real SMTP server (smtp-server) started here, with the output
 * CSV read from real S3. Checks what the user's mailbox would hold.
 */
import type { AddressInfo } from 'node:net';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { SMTPServer } from 'smtp-server';
import { createS3Client, type CassandraClient } from '@imgpipe/platform';
import { createNotifier, type Notifier } from '../../src';
import { testEnv, waitFor } from '../../../test/support/env';
import {
  cassandra,
  completion,
  createPublisher,
  deliveryRowsOnce,
  notifierConfig,
  privateTopics,
  testLogger,
} from './support';

interface Mail {
  to: string[];
  raw: string;
}

interface Part {
  headers: Record<string, string>;
  body: string;
}

/** A small MIME reader (RFC 2045/2046): headers unfolded, multiparts split, bodies decoded. */
function parseMime(raw: string): Part[] {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const body = raw.slice(split + 4);
  const headers: Record<string, string> = {};
  for (const line of head.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  const type = headers['content-type'] ?? 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (type.startsWith('multipart/') && boundary) {
    return body
      .split(`--${boundary}`)
      .slice(1, -1)
      .flatMap((p) => parseMime(p.replace(/^\r\n/, '')));
  }
  const encoding = (headers['content-transfer-encoding'] ?? '7bit').toLowerCase();
  const decoded =
    encoding === 'base64'
      ? Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8')
      : encoding === 'quoted-printable'
        ? Buffer.from(
            body
              .replace(/=\r\n/g, '')
              .replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))),
            'latin1',
          ).toString('utf8')
        : body;
  return [{ headers, body: decoded }];
}

const headerOf = (raw: string, name: string): string | undefined => {
  const head = raw.slice(0, raw.indexOf('\r\n\r\n')).replace(/\r\n[ \t]+/g, ' ');
  const line = head.split('\r\n').find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line?.slice(name.length + 1).trim();
};

let notifier: Notifier;
let publisher: Awaited<ReturnType<typeof createPublisher>>;
let db: CassandraClient;
let s3: S3Client;
let smtp: SMTPServer;
const mails: Mail[] = [];
const rcptSeen = new Map<string, number>();

beforeAll(async () => {
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(address, _session, callback) {
      const n = (rcptSeen.get(address.address) ?? 0) + 1;
      rcptSeen.set(address.address, n);
      if (address.address.startsWith('nobody-')) {
        callback(Object.assign(new Error('Mailbox unavailable'), { responseCode: 550 }));
      } else if (address.address.startsWith('flaky-') && n === 1) {
        callback(Object.assign(new Error('Try again later'), { responseCode: 451 }));
      } else callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  const port = (smtp.server.address() as AddressInfo).port;

  const prefix = await privateTopics();
  notifier = createNotifier(
    notifierConfig(prefix, {
      SMTP_URL: `smtp://127.0.0.1:${port}`,
      EMAIL_FROM: 'imgpipe <noreply@imgpipe.test>',
    }),
    { logger: testLogger() },
  );
  await notifier.start();
  await waitFor(() => notifier.isReady() || undefined, {
    what: 'notifier ready',
    timeoutMs: 60_000,
  });
  publisher = await createPublisher(prefix);
  db = cassandra();
  await db.connect();
  s3 = createS3Client(testEnv().s3);
});

afterAll(async () => {
  await notifier?.stop();
  await publisher?.close();
  await db?.shutdown();
  s3?.destroy();
  await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
});

const putCsv = (key: string, body: Buffer | string) =>
  s3.send(
    new PutObjectCommand({
      Bucket: testEnv().s3.S3_BUCKET,
      Key: key,
      Body: body,
      ContentType: 'text/csv',
    }),
  );

const mailTo = (address: string) => mails.find((m) => m.to.includes(address));

describe('completion e-mail', () => {
  it('sends status, counts and the CSV link, with the CSV attached', async () => {
    const address = `user-${Date.now()}@example.com`;
    const event = completion({ webhookUrl: null, webhookSecret: null, email: address });
    const csv =
      'S. No.,Product Name,Input Image Urls,Output Image Urls\n1,SKU1,https://a/1.jpg,https://b/1.jpg\n';
    await putCsv(event.outputCsvKey, csv);
    await publisher.publish(event);
    const mail = await waitFor(() => mailTo(address), { what: 'the e-mail' });

    expect(headerOf(mail.raw, 'Subject')).toBe(
      `imgpipe: request ${event.requestId} completed with errors (2/3 images)`,
    );
    expect(headerOf(mail.raw, 'From')).toBe('imgpipe <noreply@imgpipe.test>');
    expect(headerOf(mail.raw, 'To')).toBe(address);
    expect(headerOf(mail.raw, 'Message-ID')).toBe(`<${event.completionId}@imgpipe>`);
    const parts = parseMime(mail.raw);
    const text = parts.find((p) => p.headers['content-type']?.startsWith('text/plain'));
    expect(text?.body).toContain('Status: COMPLETED_WITH_ERRORS');
    expect(text?.body).toContain('Images: 3 total, 2 compressed, 1 failed');
    expect(text?.body).toContain(`Output CSV: ${event.outputCsvUrl}`);
    const html = parts.find((p) => p.headers['content-type']?.startsWith('text/html'));
    expect(html?.body).toContain(`href="${event.outputCsvUrl}"`);
    const attachment = parts.find((p) =>
      p.headers['content-disposition']?.startsWith('attachment'),
    );
    expect(attachment?.headers['content-disposition']).toContain(`imgpipe-${event.requestId}.csv`);
    expect(attachment?.headers['content-type']).toMatch(/^text\/csv/);
    expect(attachment?.body).toBe(csv);

    const rows = await deliveryRowsOnce(db, event.requestId, 'SUCCEEDED', {
      what: 'the delivery row',
    });
    expect(rows).toEqual([
      expect.objectContaining({
        target: 'email',
        attempt: 1,
        state: 'SUCCEEDED',
        status_code: 250,
      }),
    ]);
  });

  it('links but does not attach a CSV of 1 MiB or more', async () => {
    const address = `big-${Date.now()}@example.com`;
    const event = completion({ webhookUrl: null, webhookSecret: null, email: address });
    await putCsv(event.outputCsvKey, Buffer.alloc(1024 * 1024 + 1, 'a'));
    await publisher.publish(event);
    const mail = await waitFor(() => mailTo(address), { what: 'the e-mail' });
    const parts = parseMime(mail.raw);
    expect(parts.some((p) => p.headers['content-disposition']?.startsWith('attachment'))).toBe(
      false,
    );
    expect(parts.find((p) => p.headers['content-type']?.startsWith('text/plain'))?.body).toContain(
      'too large to attach',
    );
  });

  it('a deferred (451) e-mail is retried; a rejected (550) one fails at once', async () => {
    const flaky = `flaky-${Date.now()}@example.com`;
    const deferred = completion({ webhookUrl: null, webhookSecret: null, email: flaky });
    const nobody = `nobody-${Date.now()}@example.com`;
    const rejected = completion({ webhookUrl: null, webhookSecret: null, email: nobody });
    await publisher.publish(deferred, rejected);

    await waitFor(() => mailTo(flaky), { what: 'the retried e-mail' });
    const rows = await deliveryRowsOnce(db, deferred.requestId, 'SUCCEEDED', {
      what: 'the delivery rows',
    });
    expect(rows.map((r) => [r.target, r.attempt, r.state, r.status_code])).toEqual([
      ['email', 1, 'RETRYING', 451],
      ['email', 2, 'SUCCEEDED', 250],
    ]);

    const failed = await deliveryRowsOnce(db, rejected.requestId, 'FAILED', {
      what: 'the rejection',
    });
    expect(failed).toEqual([
      expect.objectContaining({ target: 'email', attempt: 1, state: 'FAILED', status_code: 550 }),
    ]);
    expect(rcptSeen.get(nobody)).toBe(1);
    expect(mailTo(nobody)).toBeUndefined();
  });
});
