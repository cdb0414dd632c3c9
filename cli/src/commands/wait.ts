/** `upload --wait`: poll the status until the request is final, feeding the progress view. */
import { isFinal, type ApiFailure, type ImgpipeApi, type StatusBody } from '../api';
import type { CliDeps } from '../deps';
import type { ProgressView } from '../progress';
import { renderFailure } from '../render-error';

export type WaitOutcome =
  | { kind: 'done'; status: StatusBody }
  | { kind: 'interrupted' }
  /** Polls kept failing for longer than the patience: the request may well still run. */
  | { kind: 'gave-up'; failure: ApiFailure }
  /** A failure no retry can fix (a 4xx other than 404). */
  | { kind: 'rejected'; failure: ApiFailure };

/**
 * A failed poll worth repeating: the network, a 5xx/503 (a service restarting), 429, a 404
 * (a status API that has not read the request's first event yet; imgpipe's answers PENDING
 * from the stored input CSV then, but a proxy or an older release might not) and a garbled answer from a proxy.
 */
export function isTransient(failure: ApiFailure): boolean {
  if (failure.kind !== 'http') return failure.kind !== 'aborted';
  return failure.status >= 500 || failure.status === 404 || failure.status === 429;
}

export async function waitUntilDone(
  api: ImgpipeApi,
  requestId: string,
  view: ProgressView,
  deps: Pick<CliDeps, 'now' | 'sleep' | 'signal' | 'pollIntervalMs' | 'pollPatienceMs'>,
): Promise<WaitOutcome> {
  let failingSince: number | undefined;
  let lastWarning: string | undefined;
  for (;;) {
    const polled = await api.status(requestId, undefined, deps.signal);
    if (polled.ok) {
      failingSince = undefined;
      lastWarning = undefined;
      view.update(polled.value);
      if (isFinal(polled.value.status)) return { kind: 'done', status: polled.value };
    } else {
      const failure = polled.failure;
      if (failure.kind === 'aborted') return { kind: 'interrupted' };
      if (!isTransient(failure)) return { kind: 'rejected', failure };
      failingSince ??= deps.now();
      // Once per kind of problem, not once per poll: a minute of ECONNREFUSED is one line.
      const warning = renderFailure(failure, api.baseUrl)[0] ?? '';
      if (warning !== lastWarning) {
        view.note(`warning: status poll failed (${warning}); still trying`);
        lastWarning = warning;
      }
      if (deps.now() - failingSince >= deps.pollPatienceMs) return { kind: 'gave-up', failure };
    }
    await deps.sleep(deps.pollIntervalMs, deps.signal);
    if (deps.signal.aborted) return { kind: 'interrupted' };
  }
}
