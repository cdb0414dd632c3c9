import type { AddressInfo } from 'node:net';
import express from 'express';
import { isCassandraUnavailable } from './cassandra';
import { errorHandler } from './http';
import { silentLogger } from './logger';

/** An app whose only route throws `err`, rendered by the shared error handler. */
async function answerFor(err: unknown, options?: Parameters<typeof errorHandler>[1]) {
  const app = express();
  app.get('/x', () => {
    throw err;
  });
  app.use(errorHandler(silentLogger(), options));
  const server = app.listen(0);
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/x`);
    return {
      status: res.status,
      retryAfter: res.headers.get('retry-after'),
      body: await res.json(),
    };
  } finally {
    server.close();
  }
}

const noHost = Object.assign(new Error('All host(s) tried for query failed'), {
  name: 'NoHostAvailableError',
});

describe('errorHandler', () => {
  it('answers a passing storage outage with 503 and Retry-After when told how to spot one', async () => {
    await expect(answerFor(noHost, { unavailable: isCassandraUnavailable })).resolves.toEqual({
      status: 503,
      retryAfter: '5',
      body: { error: { code: 'ERR_UNAVAILABLE', message: expect.any(String) as string } },
    });
  });

  it('keeps any other fault a 500 that leaks nothing', async () => {
    const res = await answerFor(new Error('secret internals'), {
      unavailable: isCassandraUnavailable,
    });
    expect(res).toEqual({
      status: 500,
      retryAfter: null,
      body: { error: { code: 'ERR_INTERNAL', message: 'Internal error' } },
    });
  });

  it('without the option, an outage is a plain 500', async () => {
    expect((await answerFor(noHost)).status).toBe(500);
  });

  it('renders client errors with their own code and details', async () => {
    const err = Object.assign(new Error('bad id'), {
      httpStatus: 404,
      code: 'ERR_NOT_FOUND',
      details: { id: 'x' },
    });
    expect(await answerFor(err, { unavailable: isCassandraUnavailable })).toEqual({
      status: 404,
      retryAfter: null,
      body: { error: { code: 'ERR_NOT_FOUND', message: 'bad id', details: { id: 'x' } } },
    });
  });
});

describe('isCassandraUnavailable', () => {
  it.each([
    ['no host', noHost, true],
    ['driver timeout', { name: 'OperationTimedOutError' }, true],
    ['server overloaded', { name: 'ResponseError', code: 0x1001 }, true],
    ['syntax error', { name: 'ResponseError', code: 0x2000 }, false],
    ['plain error', new Error('x'), false],
    ['not an object', 'x', false],
  ])('%s → %s', (_what, err, expected) => {
    expect(isCassandraUnavailable(err)).toBe(expected);
  });
});
