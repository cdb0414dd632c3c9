import {
  IMGPIPE_ID_NAMESPACE,
  URL_NAMESPACE,
  completionIdFor,
  imageIdFor,
  isUuid,
  uuidV5,
} from './ids';

const REQUEST = '0b7e4c8e-5a2d-4f1b-9c3e-2d6a8f1e4b70';

/** What `run` throws (fails the test when it throws nothing). */
const thrown = (run: () => unknown): unknown => {
  try {
    run();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error, nothing was thrown');
};

describe('uuidV5', () => {
  it('matches the RFC 9562 test vector (Appendix A.4: DNS namespace, www.example.com)', () => {
    expect(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe(
      '2ed6657d-e927-568b-95e1-2665a8aea6a2',
    );
  });

  it('derives the imgpipe namespace as documented', () => {
    expect(uuidV5('https://imgpipe.dev/ids', URL_NAMESPACE)).toBe(IMGPIPE_ID_NAMESPACE);
  });

  it('rejects a namespace that is not a UUID', () => {
    expect(thrown(() => uuidV5('x', 'not-a-uuid'))).toMatchObject({
      code: 'ERR_ID_INVALID_INPUT',
    });
  });
});

describe('imageIdFor', () => {
  it('is a version 5, RFC variant UUID', () => {
    const id = imageIdFor(REQUEST, 0, 0);
    expect(isUuid(id)).toBe(true);
    expect(id[14]).toBe('5');
    expect(['8', '9', 'a', 'b']).toContain(id[19]);
  });

  it('is stable: the same inputs give the same id in every process and release', () => {
    // Pinned: a change here would re-key every image of every stored request.
    expect(imageIdFor(REQUEST, 0, 0)).toBe(imageIdFor(REQUEST, 0, 0));
    expect(imageIdFor(REQUEST, 3, 1)).toBe(uuidV5(`image/${REQUEST}/3/1`, IMGPIPE_ID_NAMESPACE));
  });

  it('ignores the case of the request id', () => {
    expect(imageIdFor(REQUEST.toUpperCase(), 2, 4)).toBe(imageIdFor(REQUEST, 2, 4));
  });

  it('differs for every position, including ones that would collide if concatenated', () => {
    const ids = new Set<string>();
    for (let p = 0; p < 12; p += 1) {
      for (let i = 0; i < 12; i += 1) {
        ids.add(imageIdFor(REQUEST, p, i));
      }
    }
    expect(ids.size).toBe(144);
    // "1/11" vs "11/1": the separator keeps them apart.
    expect(imageIdFor(REQUEST, 1, 11)).not.toBe(imageIdFor(REQUEST, 11, 1));
    expect(imageIdFor(REQUEST, 0, 0)).not.toBe(
      imageIdFor('1c8f5d9f-6b3e-4a2c-8d4f-3e7b9a2f5c81', 0, 0),
    );
  });

  it.each([
    ['not-a-uuid', 0, 0, /requestId must be a UUID, got "not-a-uuid"/],
    [REQUEST, -1, 0, /productIndex must be a non-negative integer, got -1/],
    [REQUEST, 0, 1.5, /imageIndex must be a non-negative integer, got 1.5/],
    [REQUEST, Number.NaN, 0, /productIndex must be a non-negative integer, got NaN/],
  ])('rejects (%j, %j, %j) naming the input', (requestId, productIndex, imageIndex, message) => {
    expect(() => imageIdFor(requestId, productIndex, imageIndex)).toThrow(message);
    expect(thrown(() => imageIdFor(requestId, productIndex, imageIndex))).toMatchObject({
      code: 'ERR_ID_INVALID_INPUT',
      retriable: false,
    });
  });
});

describe('completionIdFor', () => {
  it('is a stable v5 UUID per request, distinct from its image ids', () => {
    const id = completionIdFor(REQUEST);
    expect(isUuid(id)).toBe(true);
    expect(id[14]).toBe('5');
    expect(completionIdFor(REQUEST.toUpperCase())).toBe(id);
    expect(completionIdFor('1c8f5d9f-6b3e-4a2c-8d4f-3e7b9a2f5c81')).not.toBe(id);
    expect(id).not.toBe(imageIdFor(REQUEST, 0, 0));
  });

  it('rejects a request id that is not a UUID', () => {
    expect(() => completionIdFor('')).toThrow(/completionIdFor: requestId must be a UUID/);
  });
});

describe('isUuid', () => {
  it.each([
    ['0b7e4c8e-5a2d-4f1b-9c3e-2d6a8f1e4b70', true],
    ['0B7E4C8E-5A2D-4F1B-9C3E-2D6A8F1E4B70', true],
    ['00000000-0000-0000-0000-000000000000', true],
    ['0b7e4c8e5a2d4f1b9c3e2d6a8f1e4b70', false],
    ['{0b7e4c8e-5a2d-4f1b-9c3e-2d6a8f1e4b70}', false],
    ['0b7e4c8e-5a2d-4f1b-9c3e-2d6a8f1e4b7', false],
    ['0b7e4c8e-5a2d-4f1b-9c3e-2d6a8f1e4b70 ', false],
    ['gb7e4c8e-5a2d-4f1b-9c3e-2d6a8f1e4b70', false],
    [42, false],
    [null, false],
  ])('%j → %j', (value, expected) => {
    expect(isUuid(value)).toBe(expected);
  });
});
