import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ensureWritableDir, portInUse, tail } from './process';

describe('launcher process helpers', () => {
  it('creates nested folders and refuses ones it cannot write, naming the folder and the fix', () => {
    const base = mkdtempSync(path.join(os.tmpdir(), 'eng-'));
    expect(() => ensureWritableDir(path.join(base, 'a', 'b', 'c'))).not.toThrow();
    const file = path.join(base, 'file');
    writeFileSync(file, 'x');
    expect(() => ensureWritableDir(path.join(file, 'sub'))).toThrow(
      /Cannot write to .*file\/sub.*IMGPIPE_ENGINES_DIR/,
    );
    expect(() => ensureWritableDir('/proc/imgpipe-nope/x')).toThrow(
      /Cannot write to \/proc\/imgpipe-nope\/x/,
    );
  });

  it('tells a busy port from a free one', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    expect(await portInUse(port)).toBe(true);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    expect(await portInUse(port)).toBe(false);
  });

  it('shows the last lines of a log', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'eng-')), 'x.log');
    writeFileSync(file, Array.from({ length: 100 }, (_, i) => `line ${i}`).join('\n') + '\n');
    const t = tail(file, 40);
    expect(t).toContain('line 99');
    expect(t).toContain('line 60');
    expect(t).not.toContain('line 59');
  });
});
