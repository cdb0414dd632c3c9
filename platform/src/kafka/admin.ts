import type { Kafka } from 'kafkajs';
import type { TopicSpec } from '@imgpipe/schemas';

/**
 * Creates missing topics with their catalogue partition count and retention (idempotent).
 * Existing topics are left alone: changing partitions would move keys between partitions.
 */
export async function ensureTopics(
  kafka: Kafka,
  topics: readonly TopicSpec[],
  replicationFactor = 1,
): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.name));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((t) => ({
          topic: t.name,
          numPartitions: t.partitions,
          replicationFactor,
          configEntries: [{ name: 'retention.ms', value: String(t.retentionMs) }],
        })),
      });
    }
    return missing.map((t) => t.name);
  } finally {
    await admin.disconnect();
  }
}
