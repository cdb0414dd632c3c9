import {
  DEFAULT_BASE_URL,
  DEFAULT_UPLOAD_RETRIES,
  parseCommandLine,
  resolveBaseUrl,
  suggestCommand,
  type Invocation,
} from './args';

const ID = '0b7e4c8e-5a2d-4f1b-9c3e-2d6a8f1e4b70';

const ok = (argv: string[], env = {}): Invocation => {
  const r = parseCommandLine(argv, env);
  if (!r.ok) throw new Error(`expected ok, got: ${r.message}`);
  return r.invocation;
};
const usage = (argv: string[], env = {}) => {
  const r = parseCommandLine(argv, env);
  if (r.ok) throw new Error(`expected a usage error, got ${JSON.stringify(r.invocation)}`);
  return r;
};

describe('upload', () => {
  it('parses every option into the API form fields', () => {
    expect(
      ok([
        'upload',
        'p.csv',
        '--webhook',
        'https://example.com/hook',
        '--email',
        'ops@example.com',
        '--quality',
        '60',
        '--format',
        'JPG',
        '--max-dimension',
        '1600',
        '--idempotency-key',
        'batch-7',
        '-w',
        '-o',
        'out.csv',
        '--retry',
        '0',
        '--url',
        'https://imgpipe.example.com/api/',
      ]),
    ).toEqual({
      command: 'upload',
      baseUrl: 'https://imgpipe.example.com/api',
      file: 'p.csv',
      fields: {
        webhook_url: 'https://example.com/hook',
        email: 'ops@example.com',
        quality: '60',
        format: 'jpeg',
        max_dimension: '1600',
      },
      idempotencyKey: 'batch-7',
      wait: true,
      out: 'out.csv',
      retries: 0,
    });
  });

  it('sends no field that was not given, and has defaults for the rest', () => {
    expect(ok(['upload', 'p.csv'])).toEqual({
      command: 'upload',
      baseUrl: DEFAULT_BASE_URL,
      file: 'p.csv',
      fields: {},
      wait: false,
      retries: DEFAULT_UPLOAD_RETRIES,
    });
  });

  it.each([
    [['upload'], /needs the CSV file/],
    [['upload', 'a.csv', 'b.csv'], /one CSV file, got 2: a\.csv b\.csv/],
    [
      ['upload', 'a.csv', '--quality', '0'],
      /--quality must be a whole number from 1 to 100, got "0"/,
    ],
    [['upload', 'a.csv', '--quality', '101'], /from 1 to 100, got "101"/],
    [['upload', 'a.csv', '--quality', '5.5'], /from 1 to 100/],
    [['upload', 'a.csv', '--quality', ''], /--quality needs a value/],
    [['upload', 'a.csv', '--quality'], /--quality needs a value/],
    [
      ['upload', 'a.csv', '--format', 'gif'],
      /--format must be one of keep, jpeg, webp, avif \(or jpg\), got "gif"/,
    ],
    [['upload', 'a.csv', '--max-dimension', '16385'], /from 1 to 16384/],
    [
      ['upload', 'a.csv', '--webhook', 'ftp://x.example'],
      /--webhook must be an absolute http\(s\) URL/,
    ],
    [['upload', 'a.csv', '--webhook', `https://x.example/${'a'.repeat(2100)}`], /limit is 2048/],
    [['upload', 'a.csv', '--email', 'a@b'], /--email must be an email address/],
    [['upload', 'a.csv', '--idempotency-key', 'é'], /1 to 255 printable ASCII/],
    [['upload', 'a.csv', '--retry', '11'], /--retry must be a whole number from 0 to 10/],
    [['upload', 'a.csv', '--out', 'x.csv'], /add --wait/],
    [['upload', 'a.csv', '--wait=yes'], /--wait does not take a value/],
    [['upload', 'a.csv', '--qualiti', '5'], /unknown option --qualiti for imgpipe upload/],
    [['upload', 'a.csv', '--url', 'localhost:8080'], /--url must be an http\(s\) URL/],
  ])('%j → usage error %s', (argv, message) => {
    const r = usage(argv);
    expect(r.message).toMatch(message);
    expect(r.topic).toBe('upload');
  });
});

describe('status and download', () => {
  it('take one UUID (any case), and their own options', () => {
    expect(ok(['status', ID.toUpperCase(), '--json', '--images'])).toEqual({
      command: 'status',
      baseUrl: DEFAULT_BASE_URL,
      requestId: ID,
      json: true,
      images: true,
    });
    expect(ok(['download', ID, '--out', '-'])).toEqual({
      command: 'download',
      baseUrl: DEFAULT_BASE_URL,
      requestId: ID,
      out: '-',
    });
  });

  it.each([
    [['status'], /status needs a request id/],
    [['status', 'abc'], /must be a UUID.*got "abc"/],
    [['status', ID, ID], /one request id, got 2/],
    [['status', ID, '--out', 'x'], /unknown option --out for imgpipe status/],
    [['download', ID, '--json'], /unknown option --json for imgpipe download/],
  ])('%j → usage error %s', (argv, message) => {
    expect(usage(argv).message).toMatch(message);
  });
});

describe('the command line as a whole', () => {
  it('--help anywhere shows that command’s help, even next to a bad value', () => {
    expect(ok(['upload', '--quality', '999', '--help'])).toEqual({
      command: 'help',
      topic: 'upload',
    });
    expect(ok(['status', '-h'])).toEqual({ command: 'help', topic: 'status' });
    expect(ok(['help', 'download'])).toEqual({ command: 'help', topic: 'download' });
    expect(ok(['--help'])).toEqual({ command: 'help' });
    expect(ok(['-V'])).toEqual({ command: 'version' });
  });

  it('after --, a dash-led word is a file name, not a flag', () => {
    expect(ok(['upload', '--', '-h.csv'])).toMatchObject({ command: 'upload', file: '-h.csv' });
  });

  it('names unknown commands, suggesting the near one', () => {
    expect(usage(['stats']).message).toBe('unknown command "stats"; did you mean status?');
    expect(usage(['dl']).message).toMatch(/commands are upload, status, download/);
    expect(usage(['--url', 'x']).message).toMatch(/the command comes first/);
    expect(suggestCommand('uplaod')).toBe('upload');
    expect(suggestCommand('down')).toBe('download');
    expect(suggestCommand('zzz')).toBeUndefined();
  });
});

describe('resolveBaseUrl', () => {
  it('takes --url, else IMGPIPE_URL, else the local stack', () => {
    expect(resolveBaseUrl('http://a.example:1/', 'http://b.example')).toBe('http://a.example:1');
    expect(resolveBaseUrl(undefined, 'http://b.example/x//')).toBe('http://b.example/x');
    expect(resolveBaseUrl(undefined, '  ')).toBe(DEFAULT_BASE_URL);
    expect(resolveBaseUrl(undefined, undefined)).toBe(DEFAULT_BASE_URL);
  });

  it('names where a bad URL came from', () => {
    expect(usage(['status', ID], { IMGPIPE_URL: 'nope' }).message).toMatch(/^IMGPIPE_URL must be/);
    expect(usage(['status', ID, '--url', 'http://x.example/?a=1']).message).toMatch(
      /--url must be a base URL without \?query or #fragment/,
    );
  });
});
