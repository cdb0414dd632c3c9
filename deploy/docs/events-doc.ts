/**
 * Writes docs/events.md from the Avro contracts (`npm run docs:events`); `--check` only tells
 * whether the committed page is current (exit 1 when it is not).
 *
 * The page is formatted with the repository's Prettier settings here, not in the generator, so
 * `npm run check` (prettier --check) and the generator agree byte for byte and @imgpipe/schemas
 * does not depend on Prettier. Prettier runs as its CLI in a child process: its Node API loads
 * its parsers with dynamic import(), which Jest's module sandbox (the drift test) refuses.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { renderEventCatalogue } from '../../schemas/src/event-catalogue-doc';

export const EVENTS_DOC_PATH = path.resolve(__dirname, '..', '..', 'docs', 'events.md');

/** The page exactly as it should be committed. */
export function eventsDoc(): string {
  const prettier = spawnSync(
    process.execPath,
    [require.resolve('prettier/bin/prettier.cjs'), '--stdin-filepath', EVENTS_DOC_PATH],
    { input: renderEventCatalogue(), encoding: 'utf8' },
  );
  if (prettier.status !== 0) {
    throw new Error(
      `prettier failed on the generated page: ${prettier.stderr || prettier.error?.message}`,
    );
  }
  return prettier.stdout;
}

/** The committed page, or '' when there is none yet. */
export function committedEventsDoc(): string {
  try {
    return readFileSync(EVENTS_DOC_PATH, 'utf8');
  } catch {
    return '';
  }
}

function main(argv: readonly string[]): number {
  const page = eventsDoc();
  const relative = path.relative(process.cwd(), EVENTS_DOC_PATH);
  if (argv.includes('--check')) {
    if (committedEventsDoc() === page) {
      console.log(`${relative} is up to date`);
      return 0;
    }
    console.error(`${relative} differs from the .avsc files: run \`npm run docs:events\``);
    return 1;
  }
  writeFileSync(EVENTS_DOC_PATH, page);
  console.log(`wrote ${relative}`);
  return 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
