import { loadConfig } from './config';

describe('ingest config', () => {
  it('has defaults that match the issue and the local stack', () => {
    const { env, limits } = loadConfig({});
    expect(env).toMatchObject({
      HTTP_PORT: 8080,
      PUBLIC_BASE_URL: 'http://127.0.0.1:8080',
      AGGREGATOR_URL: 'http://127.0.0.1:8081',
      NOTIFIER_URL: 'http://127.0.0.1:8082',
      RETRY_AFTER_SECONDS: 5,
    });
    expect(limits).toEqual({
      maxFileBytes: 20 * 1024 * 1024,
      maxRows: 10_000,
      maxImages: 100_000,
      maxUrlsPerRow: 50,
      maxUrlLength: 2_048,
      maxProductNameLength: 256,
    });
  });

  it('drops a trailing slash from base URLs', () => {
    expect(
      loadConfig({ PUBLIC_BASE_URL: 'https://imgpipe.example.com/' }).env.PUBLIC_BASE_URL,
    ).toBe('https://imgpipe.example.com');
  });

  it('reports every bad variable at once', () => {
    expect(() =>
      loadConfig({ UPLOAD_MAX_ROWS: '0', AGGREGATOR_URL: 'ftp://agg', HTTP_PORT: 'eighty' }),
    ).toThrow(
      expect.objectContaining({
        code: 'ERR_CONFIG',
        problems: [
          expect.stringContaining('HTTP_PORT') as string,
          expect.stringContaining('AGGREGATOR_URL') as string,
          expect.stringContaining('UPLOAD_MAX_ROWS') as string,
        ],
      }) as Error,
    );
  });
});
