import type { RequestCompleted } from '@imgpipe/schemas';
import type { EmailAttachment, EmailMessage } from './ports';

/** The CSV is attached only below this size; the link is always in the text. */
export const DEFAULT_ATTACH_MAX_BYTES = 1024 * 1024;

const STATUS_TEXT: Record<RequestCompleted['status'], string> = {
  PENDING: 'is pending',
  PROCESSING: 'is processing',
  COMPLETED: 'completed',
  COMPLETED_WITH_ERRORS: 'completed with errors',
  FAILED: 'failed',
};

const formatBytes = (n: number): string => {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
};

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The completion e-mail: status, counts, the output CSV link, the CSV attached when small. */
export function composeCompletionEmail(
  event: RequestCompleted,
  to: string,
  csv: Buffer | null,
): EmailMessage {
  const saved = event.bytesIn > 0 ? Math.round((1 - event.bytesOut / event.bytesIn) * 100) : 0;
  const lines = [
    `Your imgpipe request ${event.requestId} ${STATUS_TEXT[event.status]}.`,
    '',
    `Status: ${event.status}`,
    `Images: ${event.total} total, ${event.compressed} compressed, ${event.failed} failed`,
    `Size: ${formatBytes(event.bytesIn)} in, ${formatBytes(event.bytesOut)} out (${saved} % saved)`,
    `Completed at: ${new Date(event.completedAt).toISOString()}`,
    '',
    `Output CSV: ${event.outputCsvUrl}`,
    csv === null
      ? '(The CSV is too large to attach; download it from the link above.)'
      : '(The output CSV is attached.)',
  ];
  const html = [
    '<!doctype html><html><body>',
    `<p>Your imgpipe request <code>${escapeHtml(event.requestId)}</code> ${STATUS_TEXT[event.status]}.</p>`,
    '<ul>',
    `<li>Status: <strong>${escapeHtml(event.status)}</strong></li>`,
    `<li>Images: ${event.total} total, ${event.compressed} compressed, ${event.failed} failed</li>`,
    `<li>Size: ${formatBytes(event.bytesIn)} in, ${formatBytes(event.bytesOut)} out (${saved} % saved)</li>`,
    '</ul>',
    `<p><a href="${escapeHtml(event.outputCsvUrl)}">Download the output CSV</a></p>`,
    '</body></html>',
  ].join('');
  const attachments: EmailAttachment[] =
    csv === null
      ? []
      : [{ filename: `imgpipe-${event.requestId}.csv`, content: csv, contentType: 'text/csv' }];
  return {
    to,
    subject: `imgpipe: request ${event.requestId} ${STATUS_TEXT[event.status]} (${event.compressed}/${event.total} images)`,
    text: lines.join('\n'),
    html,
    messageId: `<${event.completionId}@imgpipe>`,
    attachments,
  };
}
