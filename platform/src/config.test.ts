import { z } from 'zod';
import { ConfigError, cassandraEnv, envField, kafkaEnv, parseEnv, s3Env } from './config';

describe('parseEnv', () => {
  const schema = kafkaEnv.extend({ HTTP_PORT: envField.port(8080), DEBUG: envField.bool(false) });

  it('applies local-stack defaults', () => {
    const c = parseEnv(schema.extend(cassandraEnv.shape).extend(s3Env.shape), {});
    expect(c.KAFKA_BROKERS).toEqual(['127.0.0.1:9092']);
    expect(c.HTTP_PORT).toBe(8080);
    expect(c.CASSANDRA_LOCAL_DC).toBe('datacenter1');
    expect(c.S3_FORCE_PATH_STYLE).toBe(true);
  });

  it('reports every bad variable at once, with its value', () => {
    let error: unknown;
    try {
      parseEnv(schema, { KAFKA_BROKERS: 'nohostport', HTTP_PORT: '99999', DEBUG: 'maybe' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toMatch(/KAFKA_BROKERS.*host:port/);
    expect(problems).toMatch(/HTTP_PORT.*"99999"/);
    expect(problems).toMatch(/DEBUG/);
    expect((error as ConfigError).problems).toHaveLength(3);
  });

  it('treats empty strings as unset and returns a frozen object', () => {
    const c = parseEnv(z.object({ HTTP_PORT: envField.port(1234) }), { HTTP_PORT: '' });
    expect(c.HTTP_PORT).toBe(1234);
    expect(Object.isFrozen(c)).toBe(true);
  });
});
