/**
 * `npm run dlq:replay -- --list | --replay [--dlq …] [--since …] [--limit N] [--dry-run] [--json]`
 *
 * Lists the dead letters of images.dlq, notifications.dlq and requests.events.dlq, and replays
 * them to their original topic with their original key and headers. Reads the same Kafka
 * settings as the services (KAFKA_BROKERS, KAFKA_TOPIC_PREFIX), so it acts on the deployment the
 * services use. The only file of the tool that reads process.env. Exit codes: 0 done, 1 failed,
 * 2 bad arguments or settings. See docs/operations.md, "Replaying a dead letter".
 */
import {
  ConfigError,
  createKafka,
  createLogger,
  errorCode,
  kafkaEnv,
  parseEnv,
  silentLogger,
} from '@imgpipe/platform';
import { createDeadLetterTool, deadLetterQueues, type DeadLetterQueue } from './lib/dead-letters';
import {
  formatList,
  formatReplayed,
  formatReplaySummary,
  letterJson,
  parseCommand,
  USAGE,
} from './lib/dlq-cli';

async function main(argv: readonly string[]): Promise<number> {
  const now = Date.now();
  const command = parseCommand(argv, now);
  if (command.kind === 'help') {
    console.log(USAGE);
    return 0;
  }
  const env = parseEnv(kafkaEnv, process.env);
  const groupId = process.env.DLQ_REPLAY_GROUP_ID || 'imgpipe-dlq-replay';
  // Operator output goes to stdout; kafkajs' own logs only when asked for (LOG_LEVEL).
  const logger = process.env.LOG_LEVEL
    ? createLogger({ service: 'dlq-replay', level: process.env.LOG_LEVEL })
    : silentLogger();
  const kafka = createKafka(
    { ...env, KAFKA_CLIENT_ID: env.KAFKA_CLIENT_ID ?? 'imgpipe-dlq-replay' },
    logger,
  );
  const tool = createDeadLetterTool({ kafka, groupId });
  const queues: DeadLetterQueue[] = deadLetterQueues(env.KAFKA_TOPIC_PREFIX).filter((q) =>
    command.dlqs.includes(q.name),
  );

  if (command.kind === 'list') {
    const letters = (await tool.list({ queues })).filter(
      (l) => command.since === undefined || l.deadLetteredAt >= command.since,
    );
    if (command.json) {
      console.log(JSON.stringify({ deadLetters: letters.map((l) => letterJson(l, now)) }, null, 2));
    } else {
      console.log(formatList(queues, letters, now));
    }
    return 0;
  }

  const report = await tool.replay({
    queues,
    dryRun: command.dryRun,
    ...(command.since === undefined ? {} : { since: command.since }),
    ...(command.limit === undefined ? {} : { limit: command.limit }),
    ...(command.json
      ? {}
      : {
          onReplay: (letter, destination) =>
            console.log(formatReplayed(letter, destination, command.dryRun)),
        }),
  });
  if (command.json) {
    console.log(
      JSON.stringify(
        {
          dryRun: report.dryRun,
          replayed: report.replayed.map(({ letter, destination }) => ({
            ...letterJson(letter, now),
            destination,
          })),
          passedOver: report.passedOver,
          undecodable: report.undecodable.map((l) => letterJson(l, now)),
        },
        null,
        2,
      ),
    );
  } else {
    console.log(formatReplaySummary(report));
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const code = errorCode(err);
    const usage = code === 'ERR_USAGE' || err instanceof ConfigError;
    console.error(`dlq-replay: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = usage ? 2 : 1;
  },
);
