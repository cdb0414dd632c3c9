/**
 * The command line of deploy/ops/dlq-replay.ts: arguments in, text or JSON out. Pure, so the
 * parsing and the wording are unit-tested without Kafka.
 */
import { parseArgs } from 'node:util';
import { ImgpipeError } from '@imgpipe/platform';
import {
  DLQ_NAMES,
  eventNameOf,
  type DeadLetter,
  type DeadLetterQueue,
  type DlqName,
  type ReplayReport,
} from './dead-letters';

export const USAGE = `Usage: npm run dlq:replay -- (--list | --replay) [options]

  --list             list the dead letters: cause, age, original topic and key, event, reason,
                     and whether an earlier --replay already replayed them
  --replay           publish dead letters back to their original topic with their original key
                     and headers (remembered: a later run replays only what is new)
  --dlq NAMES        comma-separated: ${DLQ_NAMES.join(', ')} (default: all)
  --since WHEN       only dead letters from after WHEN: a duration ago (90s, 30m, 2h, 7d) or an
                     ISO 8601 time. With --replay, older ones not replayed yet are passed over
                     for good (like kafka-consumer-groups --reset-offsets --to-datetime)
  --limit N          replay at most N dead letters in this run
  --dry-run          show what --replay would do; publish nothing, remember nothing
  --json             machine-readable output
  --help             this text

Environment: KAFKA_BROKERS and KAFKA_TOPIC_PREFIX (the services' values), DLQ_REPLAY_GROUP_ID
(default imgpipe-dlq-replay: where the tool remembers what it replayed), LOG_LEVEL (silent
unless set). See docs/operations.md, "Replaying a dead letter".`;

export type Command =
  | { kind: 'help' }
  | { kind: 'list'; dlqs: readonly DlqName[]; since?: number; json: boolean }
  | {
      kind: 'replay';
      dlqs: readonly DlqName[];
      since?: number;
      limit?: number;
      dryRun: boolean;
      json: boolean;
    };

const usage = (message: string): ImgpipeError =>
  new ImgpipeError('ERR_USAGE', `${message}\n\n${USAGE}`);

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--since`: a duration ago (`90s`, `30m`, `2h`, `7d`) or an ISO 8601 time → epoch ms. */
export function parseSince(value: string, now: number): number {
  const duration = /^(\d+)([smhd])$/.exec(value.trim());
  if (duration) return now - Number(duration[1]) * UNITS[duration[2]!]!;
  // Date.parse accepts many shapes; insist on ISO so "5/6/2026" cannot mean two things.
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)) {
    const at = Date.parse(value);
    if (!Number.isNaN(at)) return at;
  }
  throw usage(
    `--since ${JSON.stringify(value)}: expected a duration like 30m, 2h or 7d, or an ISO time like 2026-03-01T12:00:00Z`,
  );
}

/** argv (without node and the script) → what to do; usage errors name the bad argument. */
export function parseCommand(argv: readonly string[], now: number): Command {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        list: { type: 'boolean' },
        replay: { type: 'boolean' },
        dlq: { type: 'string' },
        since: { type: 'string' },
        limit: { type: 'string' },
        'dry-run': { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw usage((err as Error).message);
  }
  const o = parsed.values;
  if (o.help) return { kind: 'help' };
  if (o.list === o.replay) throw usage('Give exactly one of --list or --replay.');
  let dlqs: readonly DlqName[] = DLQ_NAMES;
  if (o.dlq !== undefined) {
    const names = o.dlq
      .split(',')
      .map((n) => n.trim())
      .filter(Boolean);
    const unknown = names.filter((n) => !(DLQ_NAMES as readonly string[]).includes(n));
    if (names.length === 0 || unknown.length > 0) {
      throw usage(
        `--dlq ${JSON.stringify(o.dlq)}: expected some of ${DLQ_NAMES.join(', ')}${unknown.length > 0 ? ` (unknown: ${unknown.join(', ')})` : ''}`,
      );
    }
    dlqs = DLQ_NAMES.filter((n) => names.includes(n));
  }
  const since = o.since === undefined ? undefined : parseSince(o.since, now);
  const json = o.json === true;
  if (o.list) {
    if (o.limit !== undefined || o['dry-run']) {
      throw usage('--limit and --dry-run go with --replay, not --list.');
    }
    return { kind: 'list', dlqs, json, ...(since === undefined ? {} : { since }) };
  }
  let limit: number | undefined;
  if (o.limit !== undefined) {
    if (!/^[1-9]\d{0,8}$/.test(o.limit)) {
      throw usage(`--limit ${JSON.stringify(o.limit)}: expected a whole number of at least 1`);
    }
    limit = Number(o.limit);
  }
  return {
    kind: 'replay',
    dlqs,
    dryRun: o['dry-run'] === true,
    json,
    ...(since === undefined ? {} : { since }),
    ...(limit === undefined ? {} : { limit }),
  };
}

/** `45s`, `12m`, `3h 12m`, `2d 4h`: how long ago, at a glance. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** One dead letter as JSON (for --json and for tests). */
export function letterJson(letter: DeadLetter, now: number) {
  const e = letter.envelope;
  return {
    dlq: letter.dlq,
    topic: letter.topic,
    partition: letter.partition,
    offset: letter.offset,
    deadLetteredAt: new Date(letter.deadLetteredAt).toISOString(),
    ageSeconds: Math.max(0, Math.floor((now - letter.deadLetteredAt) / 1000)),
    cause: letter.cause,
    state: letter.replayed ? 'replayed' : 'pending',
    original: e
      ? { topic: e.originalTopic, partition: e.originalPartition, offset: e.originalOffset }
      : null,
    key: e?.key ?? null,
    event: e ? eventNameOf(e) : null,
    attempts: e?.attempt ?? null,
    firstAttemptAt: e ? new Date(e.firstAttemptAt).toISOString() : null,
    reason: e?.reason ?? null,
    failureCode: e?.failureCode ?? null,
    headers: e?.headers ?? null,
    problem: letter.problem,
  };
}

/** Left-aligned columns; the last column (the reason) is not padded. */
function table(rows: readonly string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

/** The --list output: per DLQ a count line, then one row per dead letter. */
export function formatList(
  queues: readonly DeadLetterQueue[],
  letters: readonly DeadLetter[],
  now: number,
): string {
  const lines: string[] = [];
  for (const queue of queues) {
    const mine = letters.filter((l) => l.dlq === queue.name);
    const pending = mine.filter((l) => !l.replayed).length;
    lines.push(
      `${queue.name} (${queue.topic.name}): ${mine.length} dead letter${mine.length === 1 ? '' : 's'}, ${pending} not replayed`,
    );
    if (mine.length === 0) continue;
    const rows = [
      [
        '  P/OFFSET',
        'AGE',
        'CAUSE',
        'STATE',
        'ORIGINAL (topic partition/offset)',
        'KEY',
        'EVENT',
        'TRIES',
        'REASON',
      ],
    ];
    for (const l of mine) {
      const e = l.envelope;
      rows.push([
        `  ${l.partition}/${l.offset}`,
        formatAge(now - l.deadLetteredAt),
        l.cause ?? '-',
        l.replayed ? 'replayed' : 'pending',
        e ? `${e.originalTopic} ${e.originalPartition}/${e.originalOffset}` : '-',
        e?.key ?? '-',
        e ? eventNameOf(e) : '-',
        e ? String(e.attempt) : '-',
        e ? e.reason : `undecodable dead letter: ${l.problem ?? 'unknown problem'}`,
      ]);
    }
    lines.push(...table(rows));
  }
  return lines.join('\n');
}

/** One replayed dead letter, as printed while the run goes. */
export function formatReplayed(letter: DeadLetter, destination: string, dryRun: boolean): string {
  const e = letter.envelope!;
  return `${dryRun ? 'would replay' : 'replayed'} ${letter.dlq} ${letter.partition}/${letter.offset} → ${destination} key ${e.key ?? '(none)'} (${eventNameOf(e)}, ${letter.cause ?? 'unknown cause'}: ${e.reason})`;
}

/** The closing summary of a replay run. */
export function formatReplaySummary(report: ReplayReport): string {
  const n = report.replayed.length;
  const lines = [
    n === 0
      ? 'nothing to replay'
      : `${n} dead letter${n === 1 ? '' : 's'} ${report.dryRun ? 'would be replayed (dry run: nothing published or remembered)' : 'replayed'}`,
  ];
  if (report.passedOver > 0) {
    lines.push(
      `${report.passedOver} older than --since ${report.dryRun ? 'would be' : 'were'} passed over (not replayed, not offered again)`,
    );
  }
  for (const l of report.undecodable) {
    lines.push(
      `${l.dlq} ${l.partition}/${l.offset}: not replayed, the dead letter itself cannot be decoded (${l.problem ?? 'unknown problem'})`,
    );
  }
  return lines.join('\n');
}
