/**
 * The topic catalogue. Services never spell a topic name: they import these constants.
 * Real names carry a version suffix so an incompatible change gets a new topic, not a
 * surprise for old consumers (../shared/ARCHITECTURE.md, "Events and keys").
 */
export interface TopicSpec {
  /** Real topic name, with version suffix. */
  readonly name: string;
  readonly partitions: number;
  /** What the message key is; the bus enforces nothing, the producers follow it. */
  readonly key: 'requestId' | 'imageId' | 'original';
  readonly retentionMs: number;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const topic = (
  logical: string,
  partitions: number,
  key: TopicSpec['key'],
  retentionMs: number,
): TopicSpec => ({ name: `imgpipe.${logical}.v1`, partitions, key, retentionMs });

/** Number of delay tiers for image retries (delays are configuration; tiers are topics). */
export const IMAGE_RETRY_TIERS = 3;
/** Number of delay tiers for notification retries (Standard Webhooks schedule: 9 waits). */
export const NOTIFICATION_RETRY_TIERS = 9;

const tiers = (prefix: string, count: number, key: TopicSpec['key']): readonly TopicSpec[] =>
  Array.from({ length: count }, (_, i) => topic(`${prefix}.retry-${i + 1}`, 3, key, 7 * DAY));

export const Topics = {
  /** RequestAccepted, ImageCompressed, ImageFailed; keyed by requestId so one request stays ordered. */
  requestEvents: topic('requests.events', 12, 'requestId', 14 * DAY),
  /** One ImageRequested per image; keyed by imageId so a large request spreads over all processors. */
  imagesRequested: topic('images.requested', 12, 'imageId', 7 * DAY),
  /** Delay tiers for image retries (tier i holds messages waiting the i-th configured delay). */
  imagesRetry: tiers('images', IMAGE_RETRY_TIERS, 'imageId'),
  /** Images that exhausted retries or could not be decoded; kept for inspection and replay. */
  imagesDlq: topic('images.dlq', 1, 'original', 30 * DAY),
  /** Exactly one RequestCompleted per request (per completion id); keyed by requestId. */
  requestsCompleted: topic('requests.completed', 6, 'requestId', 14 * DAY),
  notificationsRetry: tiers('notifications', NOTIFICATION_RETRY_TIERS, 'requestId'),
  notificationsDlq: topic('notifications.dlq', 1, 'original', 30 * DAY),
  /** Dead letters of the aggregator (poison messages on requests.events). */
  requestEventsDlq: topic('requests.events.dlq', 1, 'original', 30 * DAY),
} as const;

export type TopicCatalogue = typeof Topics;

/**
 * The catalogue with every name prefixed (KAFKA_TOPIC_PREFIX): one cluster shared by several
 * environments, or end-to-end tests that need a private copy of the whole pipeline. Every
 * service takes its topics from here, so a prefix moves all of them together.
 */
export function topicCatalogue(prefix = ''): TopicCatalogue {
  if (!prefix) return Topics;
  const named = (t: TopicSpec): TopicSpec => ({ ...t, name: `${prefix}${t.name}` });
  return {
    requestEvents: named(Topics.requestEvents),
    imagesRequested: named(Topics.imagesRequested),
    imagesRetry: Topics.imagesRetry.map(named),
    imagesDlq: named(Topics.imagesDlq),
    requestsCompleted: named(Topics.requestsCompleted),
    notificationsRetry: Topics.notificationsRetry.map(named),
    notificationsDlq: named(Topics.notificationsDlq),
    requestEventsDlq: named(Topics.requestEventsDlq),
  };
}

/** Every topic the system needs, for the launcher and deploy tooling to create idempotently. */
export const allTopics = (prefix = ''): readonly TopicSpec[] => {
  const t = topicCatalogue(prefix);
  return [
    t.requestEvents,
    t.imagesRequested,
    ...t.imagesRetry,
    t.imagesDlq,
    t.requestsCompleted,
    ...t.notificationsRetry,
    t.notificationsDlq,
    t.requestEventsDlq,
  ];
};
