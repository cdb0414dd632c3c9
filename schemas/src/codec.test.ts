import { SCHEMA_HEADER, decodeEvent, encodeEvent, schemaIdFor } from './codec';
import { DecodeError, EncodeError } from './errors';
import { EVENT_NAMES, type AnyEvent, type EventName } from './events';
import { fixture, fixtures } from './fixtures';

const decodeFailure = (run: () => unknown): DecodeError => {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(DecodeError);
    return err as DecodeError;
  }
  throw new Error('expected a DecodeError, nothing was thrown');
};

const encodeFailure = (run: () => unknown): EncodeError => {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(EncodeError);
    return err as EncodeError;
  }
  throw new Error('expected an EncodeError, nothing was thrown');
};

describe('round trip', () => {
  it.each(EVENT_NAMES)('%s fixture decodes to an equal event', (name) => {
    const encoded = encodeEvent(name, fixtures[name]);
    const decoded: AnyEvent = decodeEvent(encoded.value, encoded.headers);
    expect(decoded.name).toBe(name);
    expect(decoded.value).toEqual(fixtures[name]);
  });

  it.each(EVENT_NAMES)('%s is tagged with its record name and a SHA-256 fingerprint', (name) => {
    const { headers } = encodeEvent(name, fixtures[name]);
    expect(headers).toEqual({ [SCHEMA_HEADER]: schemaIdFor(name) });
    expect(headers[SCHEMA_HEADER]).toMatch(
      new RegExp(`^dev\\.imgpipe\\.events\\.${name}@[0-9a-f]{64}$`),
    );
  });

  it('gives every event its own schema id', () => {
    expect(new Set(EVENT_NAMES.map(schemaIdFor)).size).toBe(EVENT_NAMES.length);
  });

  it('decodes timestamps as epoch-millisecond numbers, not Dates', () => {
    const { value, headers } = encodeEvent('RequestCompleted', fixtures.RequestCompleted);
    const decoded = decodeEvent(value, headers);
    if (decoded.name !== 'RequestCompleted') throw new Error(`decoded ${decoded.name}`);
    expect(typeof decoded.value.completedAt).toBe('number');
    expect(decoded.value.completedAt).toBe(fixtures.RequestCompleted.completedAt);
  });

  it('keeps nulls, large byte counts and the raw envelope payload intact', () => {
    const value = fixture('ImageCompressed', {
      bytesIn: 2 ** 40 + 3, // beyond 32 bits: sizes are longs
      bytesOut: 0,
    });
    const encoded = encodeEvent('ImageCompressed', value);
    expect(decodeEvent(encoded.value, encoded.headers).value).toEqual(value);

    const poison = Buffer.from([0xff, 0x00, 0xfe, 0x7f]);
    const envelope = fixture('Envelope', {
      payload: poison,
      key: null,
      failureCode: null,
      headers: {},
    });
    const e = encodeEvent('Envelope', envelope);
    const decoded = decodeEvent(e.value, e.headers);
    expect(decoded.value).toEqual(envelope);
    if (decoded.name !== 'Envelope') throw new Error(`decoded ${decoded.name}`);
    expect(Buffer.compare(decoded.value.payload, poison)).toBe(0);
  });

  it('accepts the header as a Buffer or an array, as Kafka clients deliver it', () => {
    const { value, headers } = encodeEvent('ImageFailed', fixtures.ImageFailed);
    const id = headers[SCHEMA_HEADER]!;
    expect(decodeEvent(value, { [SCHEMA_HEADER]: Buffer.from(id) }).value).toEqual(
      fixtures.ImageFailed,
    );
    expect(decodeEvent(value, { [SCHEMA_HEADER]: [Buffer.from(id)], other: 'x' }).name).toBe(
      'ImageFailed',
    );
  });

  it('returns a fresh headers object the caller may add to', () => {
    const first = encodeEvent('ImageFailed', fixtures.ImageFailed);
    first.headers['traceparent'] = 'x';
    expect(encodeEvent('ImageFailed', fixtures.ImageFailed).headers).not.toHaveProperty(
      'traceparent',
    );
  });
});

describe('decode failures', () => {
  const good = encodeEvent('ImageRequested', fixtures.ImageRequested);

  it.each([
    ['no headers at all', undefined],
    ['headers without the schema header', { traceparent: 'x' }],
    ['an empty schema header', { [SCHEMA_HEADER]: '' }],
    ['an undefined schema header', { [SCHEMA_HEADER]: undefined }],
    ['an empty header array', { [SCHEMA_HEADER]: [] }],
  ])('%s → ERR_DECODE_MISSING_SCHEMA', (_case, headers) => {
    const err = decodeFailure(() => decodeEvent(good.value, headers));
    expect(err.code).toBe('ERR_DECODE_MISSING_SCHEMA');
    expect(err.retriable).toBe(false);
    expect(err.message).toContain(SCHEMA_HEADER);
  });

  it.each([
    ['an unknown fingerprint', `dev.imgpipe.events.ImageRequested@${'0'.repeat(64)}`],
    ['an unknown record', `dev.imgpipe.events.Nope@${'0'.repeat(64)}`],
    ['a header that is not a schema id', 'application/json'],
  ])('%s → ERR_DECODE_UNKNOWN_SCHEMA naming it', (_case, id) => {
    const err = decodeFailure(() => decodeEvent(good.value, { [SCHEMA_HEADER]: id }));
    expect(err.code).toBe('ERR_DECODE_UNKNOWN_SCHEMA');
    expect(err.retriable).toBe(false);
    expect(err.message).toContain(id);
    expect(err.details).toEqual({ schema: id });
  });

  it.each([
    ['garbage', Buffer.from('this is not avro at all, just text')],
    ['empty bytes', Buffer.alloc(0)],
    ['a truncated message', good.value.subarray(0, good.value.length - 5)],
    ['trailing data', Buffer.concat([good.value, Buffer.from([0x02])])],
    [
      'random bytes',
      Buffer.from('8f3a19c2d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b', 'hex'),
    ],
  ])('%s → ERR_DECODE_BYTES', (_case, bytes) => {
    const err = decodeFailure(() => decodeEvent(bytes, good.headers));
    expect(err.code).toBe('ERR_DECODE_BYTES');
    expect(err.retriable).toBe(false);
    expect(err.details).toEqual(
      expect.objectContaining({ schema: good.headers[SCHEMA_HEADER], event: 'ImageRequested' }),
    );
  });

  it('another event’s bytes under this header → ERR_DECODE_BYTES', () => {
    const other = encodeEvent('ImageCompressed', fixtures.ImageCompressed);
    expect(decodeFailure(() => decodeEvent(other.value, good.headers)).code).toBe(
      'ERR_DECODE_BYTES',
    );
  });

  it('a null value (tombstone) → ERR_DECODE_BYTES', () => {
    const err = decodeFailure(() => decodeEvent(null, good.headers));
    expect(err.code).toBe('ERR_DECODE_BYTES');
    expect(err.message).toMatch(/has no value/);
  });

  it('is shaped like every imgpipe error (classified by code, not instanceof)', () => {
    const err = decodeFailure(() => decodeEvent(good.value, {}));
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({
      name: 'DecodeError',
      code: 'ERR_DECODE_MISSING_SCHEMA',
      retriable: false,
    });
  });
});

describe('encode failures', () => {
  it('names every invalid field path, what was expected and what was given', () => {
    const err = encodeFailure(() =>
      encodeEvent(
        'ImageFailed',
        fixture('ImageFailed', {
          requestId: 'req-1',
          failureCode: 'NOT_A_CODE' as never,
          attempts: 1.5,
        }),
      ),
    );
    expect(err.code).toBe('ERR_ENCODE_INVALID');
    expect(err.retriable).toBe(false);
    expect(err.message).toMatch(/^Cannot encode ImageFailed: /);
    expect(err.message).toContain('requestId: expected a UUID string, got "req-1"');
    expect(err.message).toContain('failureCode: expected one of HTTP_NOT_FOUND|');
    expect(err.message).toContain('got "NOT_A_CODE"');
    expect(err.message).toContain('attempts: expected a 32-bit integer, got 1.5');
    expect(err.details).toEqual({
      event: 'ImageFailed',
      issues: [
        expect.objectContaining({ path: 'requestId' }),
        expect.objectContaining({ path: 'failureCode' }),
        expect.objectContaining({ path: 'attempts' }),
      ],
    });
  });

  it('names nested paths and missing fields', () => {
    const value = fixture('RequestAccepted', {
      options: { quality: 50, format: 'gif' as never, maxDimension: null },
    });
    delete (value as Partial<typeof value>).inputCsvKey;
    const err = encodeFailure(() => encodeEvent('RequestAccepted', value));
    expect(err.message).toContain('options.format: expected one of keep|jpeg|webp|avif, got "gif"');
    expect(err.message).toContain('inputCsvKey: expected a string, got undefined (missing)');
  });

  it('writes a missing nullable field as its default, null (Avro field defaults)', () => {
    const value = fixture('RequestAccepted');
    delete (value as Partial<typeof value>).email;
    const { value: bytes, headers } = encodeEvent('RequestAccepted', value);
    expect(decodeEvent(bytes, headers).value).toEqual({ ...value, email: null });
  });

  it('never shows a secret in the error', () => {
    const err = encodeFailure(() =>
      encodeEvent('RequestCompleted', fixture('RequestCompleted', { webhookSecret: 42 as never })),
    );
    expect(err.message).toContain('webhookSecret: expected null or a string, got <redacted>');
  });

  it('rejects fractional or unsafe longs, and timestamps given as Dates', () => {
    expect(
      encodeFailure(() =>
        encodeEvent('ImageCompressed', fixture('ImageCompressed', { bytesIn: 2 ** 60 })),
      ).message,
    ).toContain('bytesIn: expected a safe integer');
    expect(
      encodeFailure(() =>
        encodeEvent('ImageCompressed', fixture('ImageCompressed', { downloadMs: 12.7 })),
      ).message,
    ).toContain('downloadMs: expected a safe integer, got 12.7');
    expect(
      encodeFailure(() =>
        encodeEvent(
          'ImageCompressed',
          fixture('ImageCompressed', { occurredAt: new Date() as never }),
        ),
      ).message,
    ).toContain('occurredAt: expected a safe integer');
  });

  it('rejects envelope payloads that are not Buffers and header maps with non-string values', () => {
    const err = encodeFailure(() =>
      encodeEvent(
        'Envelope',
        fixture('Envelope', { payload: 'abc' as never, headers: { retries: 3 } as never }),
      ),
    );
    expect(err.message).toContain('payload: expected a Buffer, got "abc"');
    expect(err.message).toContain('headers.retries: expected a string, got 3');
  });

  // The codec relies on avsc's write checks for the fast path; this shows that every field of
  // every event is really checked (a wrong type never slips through as corrupt bytes).
  it.each(EVENT_NAMES)(
    '%s: a wrong type in any field fails, naming that field',
    (name: EventName) => {
      const base = fixtures[name] as unknown as Record<string, unknown>;
      for (const field of Object.keys(base)) {
        // Something no branch of the field's type accepts (a string is valid for null|string).
        const wrong = typeof base[field] === 'string' ? 12345 : base[field] === null ? {} : 'wrong';
        const value = { ...base, [field]: wrong };
        const err = encodeFailure(() => encodeEvent(name, value as never));
        expect(err.message).toContain(`${field}: expected`);
      }
    },
  );

  it('an unknown event name → ERR_ENCODE_UNKNOWN_EVENT', () => {
    const err = encodeFailure(() => encodeEvent('ImageExploded' as never, {} as never));
    expect(err.code).toBe('ERR_ENCODE_UNKNOWN_EVENT');
    expect(err.message).toContain('ImageExploded');
  });
});
