/**
 * Storage faults injected through the outbox's fs shim (the real file system underneath, one operation
 * made to fail the way a full or failing disk does): enqueue must reject with a coded error and leave
 * nothing half-written — no temp file, no payload, no row.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AppError } from '../../shared/errors';
import { nodeFs, renameWithRetry, type FileHandleLike, type OutboxFs } from './durable-fs';
import { item, payloadFiles, rig, tmp, type Rig } from './test-helpers';

type Op = 'open' | 'write' | 'sync' | 'dirsync' | 'rename' | 'readFile';

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: injected`), { code });
}

/** Real fs; `fail[op]` says which call numbers (1-based) of that op throw which errno. */
function faultyFs(fail: Partial<Record<Op, { calls: number[] | 'all'; code: string }>>): OutboxFs & { count: Record<Op, number> } {
  const count: Record<Op, number> = { open: 0, write: 0, sync: 0, dirsync: 0, rename: 0, readFile: 0 };
  const hit = (op: Op): void => {
    count[op]++;
    const f = fail[op];
    if (f && (f.calls === 'all' || f.calls.includes(count[op]))) throw errno(f.code);
  };
  return {
    count,
    async open(p, flags, mode) {
      hit('open');
      const h = await nodeFs.open(p, flags, mode);
      const isDir = flags === 'r';
      const wrapped: FileHandleLike = {
        write: async (b, o, l, pos) => {
          hit('write');
          return h.write(b, o, l, pos);
        },
        sync: async () => {
          hit(isDir ? 'dirsync' : 'sync');
          return h.sync();
        },
        close: () => h.close(),
      };
      return wrapped;
    },
    async rename(a, b) {
      hit('rename');
      return nodeFs.rename(a, b);
    },
    unlink: (p) => nodeFs.unlink(p),
    async readFile(p) {
      hit('readFile');
      return nodeFs.readFile(p);
    },
    readdir: (p) => nodeFs.readdir(p),
    mkdir: (p, o) => nodeFs.mkdir(p, o),
  };
}

let r: Rig | undefined;
afterEach(async () => {
  await r?.dispose();
  r = undefined;
});

describe('enqueue under storage faults: coded error, nothing half-written', () => {
  const cases: [string, Parameters<typeof faultyFs>[0], string][] = [
    ['ENOSPC on write', { write: { calls: [1], code: 'ENOSPC' } }, 'ERR_STORAGE_FULL'],
    ['EDQUOT on write', { write: { calls: [1], code: 'EDQUOT' } }, 'ERR_STORAGE_FULL'],
    ['EIO on write', { write: { calls: [1], code: 'EIO' } }, 'ERR_STORAGE_IO'],
    ['EIO on fsync of the file', { sync: { calls: [1], code: 'EIO' } }, 'ERR_STORAGE_IO'],
    ['ENOSPC on fsync of the file', { sync: { calls: [1], code: 'ENOSPC' } }, 'ERR_STORAGE_FULL'],
    ['EIO on fsync of the folder', { dirsync: { calls: [1], code: 'EIO' } }, 'ERR_STORAGE_IO'],
    ['ENOSPC on the second file (document) write', { write: { calls: [2], code: 'ENOSPC' } }, 'ERR_STORAGE_FULL'],
    ['EIO on rename', { rename: { calls: [1], code: 'EIO' } }, 'ERR_STORAGE_IO'],
    ['EPERM on every rename (file held open for good)', { rename: { calls: 'all', code: 'EPERM' } }, 'ERR_STORAGE_IO'],
    ['EMFILE on open', { open: { calls: [1], code: 'EMFILE' } }, 'ERR_STORAGE_IO'],
  ];
  it.each(cases)('%s', async (_name, fail, code) => {
    const fs = faultyFs(fail);
    r = await rig({ fs, renameRetry: { attempts: 4, delayMs: () => 0, sleep: async () => undefined } });
    const { tiff } = await import('./test-helpers');
    const i = await item({ targets: ['media', 'documentReference'], document: { contentType: 'image/tiff', bytes: await tiff() } });
    const e = await r.outbox.enqueue(i).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(AppError);
    expect((e as AppError).code).toBe(code);
    expect(r.outbox.list()).toHaveLength(0);
    expect(payloadFiles(r.dir)).toEqual([]);
    // and the same image goes through once the disk is healthy again
    for (const k of Object.keys(fail)) delete fail[k as Op];
    await r.outbox.enqueue(i);
    expect(r.outbox.list().map((v) => v.imageId)).toEqual([i.imageId]);
    expect(payloadFiles(r.dir)).toHaveLength(2);
  });

  it('a disk error while reading a payload for sending → waiting (retryable), then sent', async () => {
    const fail: Parameters<typeof faultyFs>[0] = { readFile: { calls: [1], code: 'EIO' } };
    r = await rig({ fs: faultyFs(fail) });
    const i = await item();
    await r.outbox.enqueue(i);
    r.outbox.start();
    await r.outbox.idle();
    expect(r.outbox.get(i.imageId)).toMatchObject({ state: 'waiting', lastError: { code: 'ERR_STORAGE_IO' } });
    expect(r.standIn.requests).toHaveLength(0);
    r.clock.advance(10 * 60_000);
    r.outbox.kick();
    await r.outbox.idle();
    expect(r.outbox.get(i.imageId)?.state).toBe('committed');
  });
});

describe('Windows rename (EPERM/EBUSY from antivirus or indexer)', () => {
  it('retries transient rename errors with backoff and loses nothing', async () => {
    const fs = faultyFs({ rename: { calls: [1, 2], code: 'EBUSY' } });
    const sleeps: number[] = [];
    r = await rig({ fs, renameRetry: { attempts: 6, delayMs: (n) => 20 * 2 ** (n - 1), sleep: async (ms) => void sleeps.push(ms) } });
    const i = await item();
    await r.outbox.enqueue(i);
    expect(fs.count.rename).toBe(3);
    expect(sleeps).toEqual([20, 40]);
    expect(r.outbox.list()).toHaveLength(1);
    r.outbox.start();
    await r.outbox.idle();
    expect(r.standIn.creates.map((c) => c.imageId)).toEqual([i.imageId]);
  });

  it('renameWithRetry gives up after the set attempts and does not retry other errors', async () => {
    const dir = tmp();
    const sleeps: number[] = [];
    const retry = { attempts: 3, delayMs: (n: number) => n, sleep: async (ms: number) => void sleeps.push(ms) };
    const eperm = faultyFs({ rename: { calls: 'all', code: 'EPERM' } });
    await expect(renameWithRetry(eperm, join(dir, 'a'), join(dir, 'b'), retry)).rejects.toMatchObject({ code: 'EPERM' });
    expect(eperm.count.rename).toBe(3);
    expect(sleeps).toEqual([1, 2]);
    const enoent = faultyFs({});
    await expect(renameWithRetry(enoent, join(dir, 'missing'), join(dir, 'b'), retry)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(enoent.count.rename).toBe(1);
    expect(readdirSync(dir)).toEqual([]);
  });
});
