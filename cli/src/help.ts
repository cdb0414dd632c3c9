/** `imgpipe --help` and `imgpipe <command> --help`. cli/README.md says the same at length. */
import { DEFAULT_BASE_URL, DEFAULT_UPLOAD_RETRIES, defaultOutPath, type CommandName } from './args';
import { EXIT_CODE_TABLE } from './exit-codes';

const URL_LINE = `  --url BASE              imgpipe's base URL (default: $IMGPIPE_URL, else ${DEFAULT_BASE_URL})`;
const HELP_LINE = '  -h, --help              this help';

const exitCodes = (): string[] => [
  'Exit codes:',
  ...EXIT_CODE_TABLE.map(({ code, meaning }) => `  ${String(code).padStart(3)}  ${meaning}`),
];

const TOPICS: Record<CommandName, string[]> = {
  upload: [
    'Usage: imgpipe upload <file.csv> [options]',
    '',
    'Uploads a CSV (columns S. No., Product Name, Input Image Urls) and prints the request id on',
    'stdout, alone on its line (id=$(imgpipe upload products.csv) works). The status URL and the',
    'webhook secret go to stderr. A rejected CSV is listed problem by problem, line by line.',
    '',
    'Options:',
    '  --webhook URL           POST a signed webhook to URL when the request is done',
    '  --email ADDR            email ADDR when the request is done',
    '  --quality N             compression quality, 1-100 (default 50)',
    '  --format F              keep (default), jpeg (jpg), webp or avif',
    '  --max-dimension N       fit images inside N pixels on the longer side (1-16384)',
    '  --idempotency-key K     same key, same file and options: the same request, not a new one',
    '  -w, --wait              follow the progress until the request is done, then write the',
    '                          output CSV; exit code says how it ended',
    `  -o, --out FILE          with --wait: where to write the output CSV (default ${defaultOutPath('<id>')});`,
    '                          - writes it to stdout (the id then goes to stderr)',
    `  --retry N               retries when imgpipe answers 503 (after its Retry-After; default ${DEFAULT_UPLOAD_RETRIES})`,
    URL_LINE,
    HELP_LINE,
    '',
    'Ctrl-C while waiting stops following; the request keeps running (imgpipe status <id>).',
    '',
    'Examples:',
    '  imgpipe upload products.csv --quality 60 --format webp --wait --out result.csv',
    '  id=$(imgpipe upload products.csv --webhook https://example.com/hook) && imgpipe status "$id"',
  ],
  status: [
    'Usage: imgpipe status <id> [options]',
    '',
    "Shows a request's status: progress, bytes saved, webhook delivery, output CSV URL.",
    '',
    'Options:',
    '  --json                  print the status API body as it is (JSON)',
    '  --images                every image: result, size, failure reason (all pages)',
    URL_LINE,
    HELP_LINE,
    '',
    'Exits 0 whenever it could show the status, whatever state the request is in.',
  ],
  download: [
    'Usage: imgpipe download <id> [options]',
    '',
    "Writes a done request's output CSV (the input rows plus Output Image Urls).",
    '',
    'Options:',
    `  -o, --out FILE          where to write it (default ${defaultOutPath('<id>')}; - for stdout)`,
    URL_LINE,
    HELP_LINE,
    '',
    'A request that is not done yet has no output CSV: exit code 5, try again later.',
  ],
};

export function helpText(topic?: CommandName): string {
  if (topic) return `${[...TOPICS[topic], '', ...exitCodes()].join('\n')}\n`;
  return `${[
    'imgpipe: bulk image compression from the command line',
    '',
    'Usage:',
    '  imgpipe upload <file.csv> [options]   upload a CSV; prints the request id',
    "  imgpipe status <id> [options]         show a request's status",
    "  imgpipe download <id> [options]       write a request's output CSV",
    '  imgpipe help <command>                options of a command (or imgpipe <command> --help)',
    "  imgpipe --version                     the CLI's version",
    '',
    `Every command takes --url BASE (default: $IMGPIPE_URL, else ${DEFAULT_BASE_URL}).`,
    '',
    'Examples:',
    '  imgpipe upload products.csv --wait --out result.csv',
    '  id=$(imgpipe upload products.csv) && imgpipe status "$id" && imgpipe download "$id"',
    '',
    ...exitCodes(),
  ].join('\n')}\n`;
}

/** What a usage error prints after its message. */
export const usageHint = (topic?: CommandName): string =>
  `Run 'imgpipe ${topic ? `${topic} ` : ''}--help' for usage.`;
