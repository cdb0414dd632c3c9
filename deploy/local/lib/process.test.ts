import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { waitFor } from '../../../test/support/env';
import { ensureWritableDir, isAlive, portInUse, tail } from './process';

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

describe('process liveness', () => {
  it('counts a zombie (exited, not reaped) as gone, so stopping it never waits forever', async () => {
    // The background child exits after its parent has exec'd into `sleep`, which never reaps
    // it: a zombie, as an engine is when the process that started it is blocked.
    // The child sleeps past the exec: exiting earlier, the shell itself might still reap it.
    const parent = spawn('sh', ['-c', 'sleep 0.2 & echo $!; exec sleep 5'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const pid = Number(
      await new Promise<string>((resolve) =>
        parent.stdout.once('data', (d: Buffer) => resolve(d.toString())),
      ),
    );
    try {
      await waitFor(
        () => (readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z') ? true : undefined),
        {
          timeoutMs: 2_000,
          intervalMs: 20,
          what: 'the child to become a zombie',
        },
      );
      expect(() => process.kill(pid, 0)).not.toThrow(); // the PID still exists…
      expect(isAlive(pid)).toBe(false); // …but nothing runs there any more
      expect(isAlive(parent.pid!)).toBe(true);
    } finally {
      parent.kill('SIGKILL');
    }
  });
});
