/** `imgpipe download <id> [--out FILE]`: the output CSV, streamed to a file or stdout. */
import type { DownloadInvocation } from '../args';
import { defaultOutPath } from '../args';
import type { CliDeps } from '../deps';
import { ExitCode, exitCodeForFailure } from '../exit-codes';
import { formatBytes } from '../format';
import { usageHint } from '../help';
import { reportLines } from '../render-error';
import { commandFor, printLines } from './common';

/** The 409's details (aggregator requestNotDone): where the request is. */
interface NotDoneDetails {
  status?: unknown;
  progress?: { percent?: unknown };
}

function whereItIs(details: unknown): string {
  const d = (details ?? {}) as NotDoneDetails;
  const parts: string[] = [];
  if (typeof d.status === 'string') parts.push(d.status);
  if (typeof d.progress?.percent === 'number') parts.push(`${d.progress.percent} %`);
  return parts.join(', ');
}

export async function downloadCommand(inv: DownloadInvocation, deps: CliDeps): Promise<number> {
  const say = (...lines: string[]) => printLines(deps.stderr, lines);
  const out = inv.out ?? defaultOutPath(inv.requestId);
  const problem = await deps.files.checkWritable(out);
  if (problem) {
    say(`imgpipe: ${problem}`, usageHint('download'));
    return ExitCode.usage;
  }
  const api = deps.api(inv.baseUrl);
  const csv = await api.outputCsv(inv.requestId, deps.signal);
  if (!csv.ok) {
    const f = csv.failure;
    if (f.kind === 'http' && f.code === 'ERR_REQUEST_NOT_DONE') {
      const where = whereItIs(f.details);
      say(
        `imgpipe: request ${inv.requestId} is not done yet${where ? ` (${where})` : ''}: its output CSV is written when every image is final.`,
        `Follow it with: ${commandFor('status', inv.requestId, api.baseUrl)}`,
      );
    } else {
      say(...reportLines('download', f, api.baseUrl));
    }
    return exitCodeForFailure(f);
  }
  const saved = await deps.files.save(csv.value, out);
  if (!saved.ok) {
    if (deps.signal.aborted) {
      say('interrupted; nothing was written.');
      return ExitCode.interrupted;
    }
    say(
      saved.side === 'source'
        ? `imgpipe: the download broke off: ${saved.reason}; nothing was written.`
        : `imgpipe: cannot write ${out}: ${saved.reason}`,
    );
    return saved.side === 'source' ? ExitCode.unavailable : ExitCode.error;
  }
  if (out !== '-') say(`wrote ${out} (${formatBytes(saved.bytes)})`);
  return ExitCode.ok;
}
