/**
 * D3 (disk full) for real, at the LAN server's edge: the sink stores phone photos on a 256 KiB tmpfs mounted in a
 * private mount namespace (`unshare -m`, invisible to the rest of the machine). The phone must get 507 in plain
 * words, never 200, and the next photo that fits must go through. (The LAN server itself writes nothing; the core's
 * own full disk is test/hard/storage-faults.test.ts.)
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const canUnshare = spawnSync('unshare', ['-m', 'true']).status === 0;
if (!canUnshare) console.warn('disk-full test skipped: `unshare -m` is not permitted here (needs root or user namespaces).');

describe('disk full while receiving a photo (D3)', () => {
  it.skipIf(!canUnshare)('answers 507 ERR_STORAGE_FULL without the path, and works again with a photo that fits', () => {
    const mountPoint = `/tmp/lan-full-${process.pid}`;
    const script = `mkdir -p ${mountPoint} && mount -t tmpfs -o size=256k tmpfs ${mountPoint} && exec node_modules/.bin/tsx electron/lan/testkit/storage-full-probe.ts ${mountPoint}`;
    const run = spawnSync('unshare', ['-m', 'sh', '-c', script], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    spawnSync('rmdir', [mountPoint]);
    expect(run.status, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout.trim().split('\n').pop() ?? '{}') as {
      full: { status: number; code: string; body: string };
      small: { status: number };
      sinkFiles: number;
    };
    expect(result.full.status).toBe(507);
    expect(result.full.code).toBe('ERR_STORAGE_FULL');
    expect(result.full.body).not.toContain(mountPoint);
    expect(result.small.status).toBe(200);
    expect(result.sinkFiles).toBe(1);
  });
});
