import { endpointsEnv, resolveProfile } from './profile';

describe('engine profiles', () => {
  it('keeps dev and test on different ports and folders so tests never touch dev data', () => {
    const dev = resolveProfile('dev', {});
    const test = resolveProfile('test', {});
    expect(dev.ports.kafka).toBe(9092);
    expect(test.ports.kafka).toBe(19092);
    expect(new Set([...Object.values(dev.ports), ...Object.values(test.ports)]).size).toBe(12);
    expect(dev.stateDir).not.toBe(test.stateDir);
    expect(test.fresh).toBe(true);
    expect(dev.fresh).toBe(false);
  });

  it('moves a port with its env var and says which var is wrong', () => {
    expect(resolveProfile('dev', { ENGINES_S3_PORT: '9100' }).ports.s3).toBe(9100);
    expect(() => resolveProfile('dev', { ENGINES_KAFKA_PORT: 'abc' })).toThrow(
      /ENGINES_KAFKA_PORT=abc is not a port/,
    );
    expect(() => resolveProfile('dev', { ENGINES_CASSANDRA_PORT: '70000' })).toThrow(
      /ENGINES_CASSANDRA_PORT/,
    );
  });

  it('moves data and logs with IMGPIPE_ENGINES_DIR', () => {
    expect(resolveProfile('test', { IMGPIPE_ENGINES_DIR: '/tmp/eng' }).stateDir).toBe(
      '/tmp/eng/test',
    );
  });

  it('gives services the endpoints of the profile', () => {
    const env = endpointsEnv(resolveProfile('test', {}));
    expect(env).toMatchObject({
      KAFKA_BROKERS: '127.0.0.1:19092',
      CASSANDRA_CONTACT_POINTS: '127.0.0.1:19042',
      S3_ENDPOINT: 'http://127.0.0.1:19000',
    });
  });
});
