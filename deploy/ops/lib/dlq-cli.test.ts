import { encodeEvent, fixture, type Envelope } from '@imgpipe/schemas';
import { deadLetterQueues, eventNameOf, type DeadLetter } from './dead-letters';
import {
  formatAge,
  formatList,
  formatReplaySummary,
  parseCommand,
  parseSince,
  type Command,
} from './dlq-cli';

const NOW = Date.parse('2026-03-01T12:00:00Z');

const usageError = (argv: string[]): string => {
  try {
    parseCommand(argv, NOW);
  } catch (err) {
    return `${(err as { code?: string }).code}: ${(err as Error).message.split('\n')[0]}`;
  }
  return 'no error';
};

describe('parseCommand', () => {
  it('reads --list and --replay with their options', () => {
    expect(parseCommand(['--list'], NOW)).toEqual<Command>({
      kind: 'list',
      dlqs: ['images', 'notifications', 'requests.events'],
      json: false,
    });
    expect(
      parseCommand(
        [
          '--replay',
          '--dlq',
          'requests.events,images',
          '--since',
          '2h',
          '--limit',
          '10',
          '--dry-run',
          '--json',
        ],
        NOW,
      ),
    ).toEqual<Command>({
      kind: 'replay',
      dlqs: ['images', 'requests.events'],
      since: NOW - 2 * 3_600_000,
      limit: 10,
      dryRun: true,
      json: true,
    });
    expect(parseCommand(['--help'], NOW)).toEqual({ kind: 'help' });
  });

  it('names what is wrong', () => {
    expect(usageError([])).toBe('ERR_USAGE: Give exactly one of --list or --replay.');
    expect(usageError(['--list', '--replay'])).toBe(
      'ERR_USAGE: Give exactly one of --list or --replay.',
    );
    expect(usageError(['--replay', '--dlq', 'images,orders'])).toBe(
      'ERR_USAGE: --dlq "images,orders": expected some of images, notifications, requests.events (unknown: orders)',
    );
    expect(usageError(['--replay', '--limit', '0'])).toBe(
      'ERR_USAGE: --limit "0": expected a whole number of at least 1',
    );
    expect(usageError(['--list', '--dry-run'])).toBe(
      'ERR_USAGE: --limit and --dry-run go with --replay, not --list.',
    );
    expect(usageError(['--replay', '--force'])).toMatch(/^ERR_USAGE: Unknown option '--force'/);
  });
});

describe('parseSince', () => {
  it('takes a duration ago or an ISO time', () => {
    expect(parseSince('90s', NOW)).toBe(NOW - 90_000);
    expect(parseSince('30m', NOW)).toBe(NOW - 1_800_000);
    expect(parseSince('7d', NOW)).toBe(NOW - 7 * 86_400_000);
    expect(parseSince('2026-02-28T10:30:00Z', NOW)).toBe(Date.parse('2026-02-28T10:30:00Z'));
    expect(parseSince('2026-02-28', NOW)).toBe(Date.parse('2026-02-28'));
  });

  it('refuses what could mean two things', () => {
    for (const bad of ['yesterday', '5/6/2026', '2h30m', '-1h', '']) {
      expect(() => parseSince(bad, NOW)).toThrow(/expected a duration like 30m/);
    }
  });
});

describe('output', () => {
  it('formats ages at a glance', () => {
    expect(
      [0, 45_000, 12 * 60_000, 3 * 3_600_000 + 12 * 60_000, 50 * 3_600_000].map(formatAge),
    ).toEqual(['0s', '45s', '12m', '3h 12m', '2d 2h']);
  });

  const image = encodeEvent('ImageRequested', fixture('ImageRequested'));
  const envelope: Envelope = {
    ...fixture('Envelope'),
    payload: image.value,
    headers: image.headers,
    reason: 'HTTP_SERVER_ERROR: Origin answered 503',
    attempt: 4,
  };
  const letter = (over: Partial<DeadLetter>): DeadLetter => ({
    dlq: 'images',
    topic: 'imgpipe.images.dlq.v1',
    partition: 0,
    offset: '17',
    deadLetteredAt: NOW - 3 * 3_600_000,
    cause: 'exhausted',
    envelope,
    problem: null,
    replayed: false,
    ...over,
  });

  it('lists per DLQ with reason, original topic, key, event and state', () => {
    const text = formatList(
      deadLetterQueues('').filter((q) => q.name !== 'notifications'),
      [letter({}), letter({ offset: '18', envelope: null, problem: 'bad bytes', cause: null })],
      NOW,
    );
    const lines = text.split('\n');
    expect(lines[0]).toBe('images (imgpipe.images.dlq.v1): 2 dead letters, 2 not replayed');
    expect(lines[2]).toMatch(
      new RegExp(
        `^  0/17 +3h 0m +exhausted +pending +imgpipe\\.images\\.requested\\.v1 7/18342 +${envelope.key} +ImageRequested +4 +HTTP_SERVER_ERROR: Origin answered 503$`,
      ),
    );
    expect(lines[3]).toMatch(/undecodable dead letter: bad bytes$/);
    expect(lines[4]).toBe(
      'requests.events (imgpipe.requests.events.dlq.v1): 0 dead letters, 0 not replayed',
    );
    expect(eventNameOf(envelope)).toBe('ImageRequested');
  });

  it('sums up a replay run', () => {
    expect(
      formatReplaySummary({ dryRun: false, replayed: [], passedOver: 0, undecodable: [] }),
    ).toBe('nothing to replay');
    expect(
      formatReplaySummary({
        dryRun: true,
        replayed: [{ letter: letter({}), destination: 'imgpipe.images.requested.v1' }],
        passedOver: 2,
        undecodable: [],
      }),
    ).toBe(
      '1 dead letter would be replayed (dry run: nothing published or remembered)\n2 older than --since would be passed over (not replayed, not offered again)',
    );
  });
});
