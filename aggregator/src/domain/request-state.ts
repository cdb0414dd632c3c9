/**
 * The per-request state machine, pure: which images are final, the counts derived from them,
 * the status, and when the request is ready to complete.
 *
 * Rules (issue 6, ARCHITECTURE.md "Request lifecycle"):
 * - Counts are never incremented: they are recomputed from the set of final images, so a
 *   redelivered or reordered event cannot change them.
 * - The first final result recorded for an image wins. A later result for the same position
 *   (a duplicate, or a processor retry that ended differently after its first result was
 *   already published) is a duplicate and changes nothing — otherwise the status a user saw,
 *   and possibly the output CSV, would flip after the fact.
 * - PENDING (accepted, nothing final) → PROCESSING (≥ 1 final) → COMPLETED (all compressed) |
 *   COMPLETED_WITH_ERRORS (some failed) | FAILED (all failed, or closed by a timeout).
 */
import type { RequestStatus } from '@imgpipe/schemas';
import type {
  CompletionRecord,
  Counts,
  FinalMark,
  OpenRequest,
  RequestMeta,
  TerminalStatus,
} from './model';

export interface RequestState {
  readonly requestId: string;
  meta: RequestMeta | null;
  finals: Map<string, FinalMark>;
  completion: CompletionRecord | null;
  open: OpenRequest | null;
}

export const imageKey = (productIndex: number, imageIndex: number): string =>
  `${productIndex}:${imageIndex}`;

export function emptyState(requestId: string): RequestState {
  return { requestId, meta: null, finals: new Map(), completion: null, open: null };
}

/** Absolute counts from the final images; `total` is the accepted total, else what is known. */
export function countsOf(finals: ReadonlyMap<string, FinalMark>, total: number | null): Counts {
  let compressed = 0;
  let failed = 0;
  let bytesIn = 0;
  let bytesOut = 0;
  for (const mark of finals.values()) {
    if (mark.status === 'COMPRESSED') {
      compressed += 1;
      bytesIn += mark.bytesIn;
      bytesOut += mark.bytesOut;
    } else failed += 1;
  }
  const t = total ?? compressed + failed;
  return {
    total: t,
    compressed,
    failed,
    pending: Math.max(0, t - compressed - failed),
    bytesIn,
    bytesOut,
  };
}

/** The status while the request is open (the terminal one comes from the completion latch). */
export function openStatus(finals: ReadonlyMap<string, FinalMark>): RequestStatus {
  return finals.size === 0 ? 'PENDING' : 'PROCESSING';
}

export function statusOf(state: RequestState): RequestStatus {
  return state.completion?.status ?? openStatus(state.finals);
}

/** COMPLETED when everything compressed, FAILED when nothing did, otherwise with errors. */
export function terminalStatusOf(counts: Counts): TerminalStatus {
  if (counts.failed === 0 && counts.pending === 0) return 'COMPLETED';
  if (counts.compressed === 0) return 'FAILED';
  return 'COMPLETED_WITH_ERRORS';
}

export type ApplyResult = 'applied' | 'duplicate';

/** Records a final result for a position unless one is already recorded (first result wins). */
export function applyFinal(
  state: RequestState,
  productIndex: number,
  imageIndex: number,
  mark: FinalMark,
): ApplyResult {
  const key = imageKey(productIndex, imageIndex);
  if (state.finals.has(key)) return 'duplicate';
  state.finals.set(key, mark);
  return 'applied';
}

/** Every image is final and no completion is recorded yet: time to complete. */
export function readyToComplete(state: RequestState): boolean {
  return state.meta !== null && state.completion === null && state.finals.size >= state.meta.total;
}
