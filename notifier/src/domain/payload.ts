import type { RequestCompleted, RequestStatus } from '@imgpipe/schemas';

/**
 * The webhook body (Standard Webhooks shape `{ type, timestamp, data }`). Small on purpose (the
 * spec recommends < 20 kB): links, not assets. `timestamp` is when the request completed, so
 * every attempt of one completion sends byte-identical bodies; the attempt time travels in
 * the signed `webhook-timestamp` header instead.
 */
export interface WebhookPayload {
  type: 'request.completed';
  timestamp: string;
  data: {
    request_id: string;
    status: RequestStatus;
    progress: {
      total: number;
      compressed: number;
      failed: number;
      pending: number;
      percent: number;
    };
    output_csv_url: string;
    completed_at: string;
  };
}

export const WEBHOOK_EVENT_TYPE = 'request.completed';

export function buildPayload(event: RequestCompleted): WebhookPayload {
  const completedAt = new Date(event.completedAt).toISOString();
  const finished = event.compressed + event.failed;
  return {
    type: WEBHOOK_EVENT_TYPE,
    timestamp: completedAt,
    data: {
      request_id: event.requestId,
      status: event.status,
      // Same block as the status API's `progress`, so one parser reads both.
      progress: {
        total: event.total,
        compressed: event.compressed,
        failed: event.failed,
        pending: Math.max(0, event.total - finished),
        percent: event.total === 0 ? 100 : Math.floor((finished * 1000) / event.total) / 10,
      },
      output_csv_url: event.outputCsvUrl,
      completed_at: completedAt,
    },
  };
}

/** The exact bytes sent and signed (receivers must verify the raw body, never re-serialise). */
export const serializePayload = (payload: WebhookPayload): string => JSON.stringify(payload);
