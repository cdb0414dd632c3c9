import { fixture } from '@imgpipe/schemas';
import { buildPayload, serializePayload } from './payload';

describe('webhook payload', () => {
  it('is { type, timestamp, data } with the status API progress block', () => {
    const event = fixture('RequestCompleted');
    expect(buildPayload(event)).toEqual({
      type: 'request.completed',
      timestamp: new Date(event.completedAt).toISOString(),
      data: {
        request_id: event.requestId,
        status: 'COMPLETED_WITH_ERRORS',
        progress: { total: 3, compressed: 2, failed: 1, pending: 0, percent: 100 },
        output_csv_url: event.outputCsvUrl,
        completed_at: new Date(event.completedAt).toISOString(),
      },
    });
  });

  it('is byte-identical for every attempt and small', () => {
    const event = fixture('RequestCompleted');
    const a = serializePayload(buildPayload(event));
    expect(serializePayload(buildPayload({ ...event }))).toBe(a);
    expect(Buffer.byteLength(a)).toBeLessThan(1024);
    expect(a).not.toContain('whsec_');
  });

  it('handles an empty request', () => {
    const event = fixture('RequestCompleted', {
      total: 0,
      compressed: 0,
      failed: 0,
      status: 'FAILED',
    });
    expect(buildPayload(event).data.progress).toEqual({
      total: 0,
      compressed: 0,
      failed: 0,
      pending: 0,
      percent: 100,
    });
  });
});
