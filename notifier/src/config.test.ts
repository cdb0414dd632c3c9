import { ConfigError } from '@imgpipe/platform';
import { loadConfig } from './config';
import { PRODUCTION_RETRY_DELAYS_MS } from './domain/schedule';

describe('notifier config', () => {
  it('defaults to the local stack and the production schedule', () => {
    const c = loadConfig({});
    expect(c.HTTP_PORT).toBe(8082);
    expect(c.WEBHOOK_RETRY_DELAYS_MS).toEqual(PRODUCTION_RETRY_DELAYS_MS);
    expect(c.WEBHOOK_CONNECT_TIMEOUT_MS).toBe(5_000);
    expect(c.WEBHOOK_ATTEMPT_TIMEOUT_MS).toBe(15_000);
    expect(c.SMTP_URL).toBeUndefined();
    expect(c.FETCH_ALLOW_CIDRS).toEqual([]);
    expect(c.KAFKA_TOPIC_PREFIX).toBe('');
  });

  it('reads a short test schedule', () => {
    expect(
      loadConfig({ WEBHOOK_RETRY_DELAYS_MS: '1000, 1000,2000' }).WEBHOOK_RETRY_DELAYS_MS,
    ).toEqual([1_000, 1_000, 2_000]);
  });

  it('reports every bad variable at once, naming the value', () => {
    let thrown: unknown;
    try {
      loadConfig({
        WEBHOOK_RETRY_DELAYS_MS: '1000,soon',
        SMTP_URL: 'mail.example.com',
        HTTP_PORT: '99999',
        FETCH_ALLOW_CIDRS: 'localhost',
      });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    const problems = (thrown as ConfigError).problems.join('\n');
    expect(problems).toMatch(/WEBHOOK_RETRY_DELAYS_MS.*"soon"/);
    expect(problems).toMatch(/SMTP_URL/);
    expect(problems).toMatch(/HTTP_PORT/);
    expect(problems).toMatch(/FETCH_ALLOW_CIDRS.*localhost/);
  });

  it('allows no more waits than there are delay tier topics', () => {
    expect(() => loadConfig({ WEBHOOK_RETRY_DELAYS_MS: Array(10).fill('1').join(',') })).toThrow(
      /at most 9 delays/,
    );
  });
});
