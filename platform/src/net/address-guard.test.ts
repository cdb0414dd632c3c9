import http from 'node:http';
import type { AddressInfo, LookupFunction } from 'node:net';
import type { LookupAddress } from 'node:dns';
import { Agent, request as undiciRequest } from 'undici';
import { z } from 'zod';
import { ConfigError, parseEnv } from '../config';
import {
  AllowListError,
  BlockedAddressError,
  assertHostAllowed,
  classifyAddress,
  createGuardedLookup,
  fetchAllowEnv,
  parseAllowCidrs,
  type Resolver,
} from './address-guard';

describe('classifyAddress', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'linkLocal'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['0.0.0.0', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['224.0.0.1', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'linkLocal'],
    ['fc00::1', 'uniqueLocal'],
    ['fd12:3456::1', 'uniqueLocal'],
    ['ff02::1', 'multicast'],
    ['64:ff9b::7f00:1', 'rfc6052'],
    ['2002:7f00:1::', '6to4'],
    ['[::1]', 'loopback'],
    ['not-an-ip', 'invalid'],
  ])('refuses %s (%s) with an empty allow-list', (address, range) => {
    expect(classifyAddress(address)).toMatchObject({ range, allowed: false });
  });

  it.each([
    ['::ffff:127.0.0.1', '127.0.0.1', 'loopback'],
    ['::ffff:169.254.169.254', '169.254.169.254', 'linkLocal'],
    ['::ffff:a9fe:a9fe', '169.254.169.254', 'linkLocal'],
    ['::ffff:10.0.0.1', '10.0.0.1', 'private'],
  ])('judges the IPv4-mapped form %s as %s', (address, judged, range) => {
    expect(classifyAddress(address)).toEqual({ address: judged, range, allowed: false });
  });

  it.each(['93.184.215.14', '8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8'])(
    'allows the public address %s',
    (address) => {
      expect(classifyAddress(address)).toMatchObject({ range: 'unicast', allowed: true });
    },
  );

  it('re-admits only what the allow-list names', () => {
    const allow = parseAllowCidrs('127.0.0.0/8, fd00::/8');
    expect(classifyAddress('127.0.0.1', allow)).toEqual({
      address: '127.0.0.1',
      range: 'loopback',
      allowed: true,
      allowedBy: '127.0.0.0/8',
    });
    expect(classifyAddress('::ffff:127.0.0.2', allow)).toMatchObject({ allowed: true });
    expect(classifyAddress('fd00::5', allow)).toMatchObject({ allowed: true });
    expect(classifyAddress('10.0.0.1', allow)).toMatchObject({ allowed: false });
    expect(classifyAddress('::1', allow)).toMatchObject({ allowed: false });
    expect(classifyAddress('169.254.169.254', allow)).toMatchObject({ allowed: false });
  });
});

describe('parseAllowCidrs', () => {
  it('reads comma/space separated CIDRs and bare addresses', () => {
    const allow = parseAllowCidrs(' 127.0.0.0/8,::1  10.0.0.5 ');
    expect(allow.map((r) => [r.cidr, r.prefix])).toEqual([
      ['127.0.0.0/8', 8],
      ['::1', 128],
      ['10.0.0.5', 32],
    ]);
    expect(classifyAddress('10.0.0.5', allow).allowed).toBe(true);
    expect(classifyAddress('10.0.0.6', allow).allowed).toBe(false);
  });

  it('treats an IPv4-mapped range as the IPv4 range it maps', () => {
    const allow = parseAllowCidrs('::ffff:10.0.0.0/104');
    expect(classifyAddress('10.9.9.9', allow).allowed).toBe(true);
    expect(classifyAddress('11.0.0.1', allow).allowed).toBe(true); // public anyway
    expect(classifyAddress('192.168.0.1', allow).allowed).toBe(false);
  });

  it('is empty for empty input', () => {
    expect(parseAllowCidrs('')).toEqual([]);
    expect(parseAllowCidrs(undefined)).toEqual([]);
    expect(parseAllowCidrs([])).toEqual([]);
  });

  it('names every bad entry', () => {
    let thrown: unknown;
    try {
      parseAllowCidrs('127.0.0.0/8,localhost,10.0.0.0/33,1.2.3');
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(AllowListError);
    const e = thrown as AllowListError;
    expect(e.code).toBe('ERR_ALLOW_LIST');
    expect(e.problems).toHaveLength(3);
    expect(e.message).toContain('"localhost"');
    expect(e.message).toContain('"10.0.0.0/33"');
    expect(e.message).toContain('"1.2.3"');
  });

  it('reports a bad FETCH_ALLOW_CIDRS through parseEnv, with the other bad variables', () => {
    const schema = fetchAllowEnv.extend({ HTTP_PORT: z.coerce.number().int() });
    let thrown: unknown;
    try {
      parseEnv(schema, { FETCH_ALLOW_CIDRS: 'nope', HTTP_PORT: 'x' });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    const problems = (thrown as ConfigError).problems;
    expect(problems.some((p) => p.startsWith('FETCH_ALLOW_CIDRS') && p.includes('"nope"'))).toBe(
      true,
    );
    expect(problems.some((p) => p.startsWith('HTTP_PORT'))).toBe(true);
    const ok = parseEnv(fetchAllowEnv, { FETCH_ALLOW_CIDRS: '127.0.0.0/8' });
    expect(ok.FETCH_ALLOW_CIDRS.map((r) => r.cidr)).toEqual(['127.0.0.0/8']);
    expect(parseEnv(fetchAllowEnv, {}).FETCH_ALLOW_CIDRS).toEqual([]);
  });
});

describe('assertHostAllowed', () => {
  it('checks IP literals the way WHATWG URL leaves them', () => {
    const hostOf = (url: string) => new URL(url).hostname;
    for (const url of [
      'http://127.0.0.1/x',
      'http://2130706433/x', // decimal 127.0.0.1
      'http://0x7f.1/x',
      'http://[::1]/x',
      'http://[::ffff:169.254.169.254]/x',
      'http://169.254.169.254/latest/meta-data',
    ]) {
      expect(() => assertHostAllowed(hostOf(url), [])).toThrow(BlockedAddressError);
    }
    expect(() => assertHostAllowed('8.8.8.8', [])).not.toThrow();
    // Names are left to the guarded lookup.
    expect(() => assertHostAllowed('localhost', [])).not.toThrow();
    expect(() => assertHostAllowed('127.0.0.1', parseAllowCidrs('127.0.0.0/8'))).not.toThrow();
  });
});

/** Calls a LookupFunction the way net does and returns what it answered. */
function callLookup(
  lookup: LookupFunction,
  hostname: string,
  all: boolean,
): Promise<{ address: string | LookupAddress[]; family?: number }> {
  return new Promise((resolve, reject) => {
    lookup(hostname, { all }, (err, address, family) => {
      if (err) reject(err);
      else resolve(family === undefined ? { address } : { address, family });
    });
  });
}

const fakeResolver =
  (table: Record<string, string[]>): Resolver =>
  (hostname, _options, callback) => {
    const addresses = table[hostname];
    if (!addresses) {
      const err: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
      err.code = 'ENOTFOUND';
      callback(err, []);
      return;
    }
    callback(
      null,
      addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
    );
  };

describe('createGuardedLookup', () => {
  const resolver = fakeResolver({
    'public.example': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
    'metadata.example': ['169.254.169.254'],
    'mixed.example': ['93.184.215.14', '10.0.0.1'],
    'mapped.example': ['::ffff:127.0.0.1'],
    'local.example': ['127.0.0.1'],
  });

  it('passes public addresses through, in both calling conventions', async () => {
    const lookup = createGuardedLookup([], resolver);
    await expect(callLookup(lookup, 'public.example', false)).resolves.toEqual({
      address: '93.184.215.14',
      family: 4,
    });
    const all = await callLookup(lookup, 'public.example', true);
    expect(all.address).toHaveLength(2);
  });

  it.each(['metadata.example', 'mixed.example', 'mapped.example', 'local.example'])(
    'refuses %s before any connection',
    async (host) => {
      const lookup = createGuardedLookup([], resolver);
      await expect(callLookup(lookup, host, true)).rejects.toMatchObject({
        code: 'ERR_BLOCKED_ADDRESS',
        retriable: false,
      });
      await expect(callLookup(lookup, host, false)).rejects.toBeInstanceOf(BlockedAddressError);
    },
  );

  it('re-admits allow-listed ranges', async () => {
    const lookup = createGuardedLookup(parseAllowCidrs('127.0.0.0/8'), resolver);
    await expect(callLookup(lookup, 'local.example', false)).resolves.toEqual({
      address: '127.0.0.1',
      family: 4,
    });
  });

  it('passes DNS errors through unchanged', async () => {
    const lookup = createGuardedLookup([], resolver);
    await expect(callLookup(lookup, 'nowhere.example', false)).rejects.toMatchObject({
      code: 'ENOTFOUND',
    });
  });
});

describe('guarded lookup on real sockets', () => {
  let server: http.Server;
  let port: number;
  let hits = 0;

  beforeAll(async () => {
    server = http.createServer((_req, res) => {
      hits += 1;
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const get = (agent: http.Agent, host: string) =>
    new Promise<string>((resolve, reject) => {
      http
        .get({ host, port, path: '/', agent }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve(body));
        })
        .on('error', reject);
    });

  it('node http: `localhost` is refused without an allow-list and reached with one', async () => {
    const before = hits;
    const blocked = new http.Agent({ lookup: createGuardedLookup([]) });
    await expect(get(blocked, 'localhost')).rejects.toMatchObject({
      code: 'ERR_BLOCKED_ADDRESS',
    });
    expect(hits).toBe(before);
    const allowed = new http.Agent({
      lookup: createGuardedLookup(parseAllowCidrs('127.0.0.0/8,::1')),
    });
    await expect(get(allowed, 'localhost')).resolves.toBe('ok');
    blocked.destroy();
    allowed.destroy();
  });

  it('undici connect.lookup: same behaviour', async () => {
    const before = hits;
    const blocked = new Agent({ connect: { lookup: createGuardedLookup([]) } });
    await expect(
      undiciRequest(`http://localhost:${port}/`, { dispatcher: blocked }),
    ).rejects.toMatchObject({ code: 'ERR_BLOCKED_ADDRESS' });
    expect(hits).toBe(before);
    const allowed = new Agent({
      connect: { lookup: createGuardedLookup(parseAllowCidrs('127.0.0.0/8,::1')) },
    });
    const res = await undiciRequest(`http://localhost:${port}/`, { dispatcher: allowed });
    expect(await res.body.text()).toBe('ok');
    await blocked.close();
    await allowed.close();
  });
});
