import type { Request } from 'express';
import { isUuid } from '@imgpipe/schemas';
import { inputCsvKey } from '../domain/accept-upload';
import type { InputStore, InputSummary } from '../domain/ports';

/**
 * The status of a request ingest accepted but the aggregator has not materialised yet (it
 * reads RequestAccepted a moment after the 202). Without this a user polling the status_url
 * straight after the upload could get 404 "no such request" for a request that exists.
 * Same shape as the aggregator's status body.
 */
export function pendingStatusBody(requestId: string, s: InputSummary) {
  const at = new Date(s.acceptedAt).toISOString();
  return {
    request_id: requestId,
    status: 'PENDING',
    progress: { total: s.images, compressed: 0, failed: 0, pending: s.images, percent: 0 },
    created_at: at,
    updated_at: at,
    completed_at: null,
    bytes_in: 0,
    bytes_out: 0,
  };
}

/** The edge's fallback for GET /status/:id when the aggregator answers 404. */
export function pendingStatusFallback(inputs: InputStore) {
  return async (req: Request): Promise<unknown> => {
    const requestId = String(req.params.requestId ?? '').toLowerCase();
    // ?include=images pages come from the read model only; a PENDING summary has no rows yet.
    if (!isUuid(requestId) || req.query.include !== undefined) return undefined;
    const summary = await inputs.describe(inputCsvKey(requestId));
    return summary && pendingStatusBody(requestId, summary);
  };
}
