import type { FinalMark } from './model';
import {
  applyFinal,
  countsOf,
  emptyState,
  readyToComplete,
  statusOf,
  terminalStatusOf,
} from './request-state';

const ok = (bytesIn = 100, bytesOut = 40): FinalMark => ({
  status: 'COMPRESSED',
  bytesIn,
  bytesOut,
});
const bad: FinalMark = { status: 'FAILED', bytesIn: 0, bytesOut: 0 };

describe('request state', () => {
  it('derives absolute counts and bytes from the final images', () => {
    const finals = new Map([
      ['0:0', ok(100, 40)],
      ['0:1', bad],
      ['1:0', ok(50, 10)],
    ]);
    expect(countsOf(finals, 5)).toEqual({
      total: 5,
      compressed: 2,
      failed: 1,
      pending: 2,
      bytesIn: 150,
      bytesOut: 50,
    });
    // Unknown total (results before RequestAccepted): what is known.
    expect(countsOf(finals, null).total).toBe(3);
  });

  it('keeps the first final result of a position', () => {
    const state = emptyState('r');
    expect(applyFinal(state, 0, 0, ok())).toBe('applied');
    expect(applyFinal(state, 0, 0, bad)).toBe('duplicate');
    expect(state.finals.get('0:0')).toEqual(ok());
  });

  it('moves PENDING → PROCESSING and is ready only when every image is final', () => {
    const state = emptyState('r');
    state.meta = {
      requestId: 'r',
      products: 1,
      total: 2,
      options: { quality: 50, format: 'keep', maxDimension: null },
      inputCsvKey: 'inputs/r.csv',
      webhookUrl: null,
      webhookSecret: null,
      email: null,
      createdAt: 0,
    };
    expect(statusOf(state)).toBe('PENDING');
    applyFinal(state, 0, 0, ok());
    expect(statusOf(state)).toBe('PROCESSING');
    expect(readyToComplete(state)).toBe(false);
    applyFinal(state, 0, 1, bad);
    expect(readyToComplete(state)).toBe(true);
  });

  it.each([
    [2, 0, 'COMPLETED'],
    [1, 1, 'COMPLETED_WITH_ERRORS'],
    [0, 2, 'FAILED'],
    [0, 0, 'COMPLETED'],
  ] as const)('%i compressed + %i failed → %s', (compressed, failed, status) => {
    const total = compressed + failed;
    expect(
      terminalStatusOf({ total, compressed, failed, pending: 0, bytesIn: 0, bytesOut: 0 }),
    ).toBe(status);
  });
});
