/**
 * CHECKS.md D2 (simulated power loss) for the outbox's own files. `lazyFs` is an in-repo shim in the
 * spirit of SQLite's test6.c: it runs on the real file system but remembers what is DURABLE — file
 * contents only after fsync of the file, directory entries (create, rename, unlink) only after fsync of
 * the folder. At crash point N every further operation fails, and the payload folder is rewritten to its
 * durable state: entries whose rename/unlink was never made durable come back or vanish, and files never
 * fsync'd come back as garbage. (SQLite's own durability — WAL + synchronous=FULL — is SQLite's to keep;
 * its file is not simulated here.) Then the outbox is reopened on the real file system:
 *   - every image whose enqueue() resolved is intact and is sent with the right bytes, exactly once;
 *   - an image whose enqueue() did not resolve is either absent or intact — never half there;
 *   - nothing is left in payloads/ that no live item needs.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { nodeFs, type FileHandleLike, type OutboxFs } from './durable-fs';
import { item, payloadFiles, rig, tiff } from './test-helpers';

class Crash extends Error {
  code = 'EIO';
}

interface LazyFs extends OutboxFs {
  /** Operations that change the disk, counted since arm(). */
  ops: number;
  arm(crashAt: number): void;
  crashed(): boolean;
  /** Rewrite `dir` to its durable state. */
  powerCut(dir: string): void;
}

function lazyFs(): LazyFs {
  let inode = 0;
  const current = new Map<string, Map<string, number>>(); // dir → name → inode
  const durable = new Map<string, Map<string, number>>();
  const synced = new Map<number, Buffer>(); // inode → content at its last fsync
  const inodeOf = new Map<string, number>(); // full path → inode (current)
  let armedAt: number | null = null;
  let dead = false;
  const entries = (m: Map<string, Map<string, number>>, d: string): Map<string, number> => {
    let e = m.get(d);
    if (!e) m.set(d, (e = new Map()));
    return e;
  };
  const step = (): void => {
    if (dead) throw new Crash('power lost');
    if (armedAt !== null) {
      fs.ops++;
      if (fs.ops >= armedAt) {
        dead = true;
        throw new Crash('power lost');
      }
    }
  };
  const fs: LazyFs = {
    ops: 0,
    arm(n) {
      armedAt = n;
      fs.ops = 0;
    },
    crashed: () => dead,
    async open(p, flags, mode) {
      step();
      const h = await nodeFs.open(p, flags, mode);
      if (flags === 'r') {
        return {
          write: () => Promise.reject(new Error('directory')),
          sync: async () => {
            step();
            durable.set(p, new Map(entries(current, p)));
            await h.sync();
          },
          close: () => h.close(),
        };
      }
      const id = ++inode;
      entries(current, dirname(p)).set(basename(p), id);
      inodeOf.set(p, id);
      const wrapped: FileHandleLike = {
        write: async (b, o, l, pos) => {
          step();
          return h.write(b, o, l, pos);
        },
        sync: async () => {
          step();
          await h.sync();
          synced.set(id, await nodeFs.readFile(p));
        },
        close: () => h.close(),
      };
      return wrapped;
    },
    async rename(a, b) {
      step();
      await nodeFs.rename(a, b);
      const id = inodeOf.get(a);
      entries(current, dirname(a)).delete(basename(a));
      inodeOf.delete(a);
      if (id !== undefined) {
        entries(current, dirname(b)).set(basename(b), id);
        inodeOf.set(b, id);
      }
    },
    async unlink(p) {
      step();
      await nodeFs.unlink(p);
      entries(current, dirname(p)).delete(basename(p));
      inodeOf.delete(p);
    },
    readFile: async (p) => {
      if (dead) throw new Crash('power lost');
      return nodeFs.readFile(p);
    },
    readdir: (p) => nodeFs.readdir(p),
    mkdir: (p, o) => nodeFs.mkdir(p, o),
    powerCut(dir) {
      for (const name of readdirSync(dir)) rmSync(join(dir, name));
      for (const [name, id] of entries(durable, dir)) {
        const content = synced.get(id);
        // never fsync'd: garbage of a random length, as after a real power cut
        writeFileSync(join(dir, name), content ?? randomBytes(Math.floor(Math.random() * 4096)));
      }
    },
  };
  return fs;
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('simulated power loss at every step of enqueue and commit', () => {
  it('loses no acknowledged image, leaves none half there, and sends each exactly once with the right bytes', async () => {
    let points = 0;
    let ackedBeforeCrash = 0;
    for (let crashAt = 1; crashAt <= 40; crashAt++) {
      const fs = lazyFs();
      const r = await rig({ fs });
      try {
        // A: saved before the crash window opens. B: saved (and sent) while the crash point is armed.
        const a = await item({}, 1);
        await r.outbox.enqueue(a);
        const b = await item({ targets: ['media', 'documentReference'], document: { contentType: 'image/tiff', bytes: await tiff(3) } }, 2);
        fs.arm(crashAt);
        let bAcked = false;
        try {
          await r.outbox.enqueue(b);
          bAcked = true;
          r.outbox.start();
          await r.outbox.idle();
        } catch {
          /* the crash */
        }
        if (!fs.crashed()) break; // crash point beyond the last operation: every step covered
        points++;
        if (bAcked) ackedBeforeCrash++;
        await r.outbox.close();
        fs.powerCut(join(r.dir, 'payloads'));

        const db = new Database(join(r.dir, 'outbox.db'));
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
        db.close();

        await r.reopen({ fs: nodeFs });
        const bRow = r.outbox.get(b.imageId);
        if (bAcked) expect(bRow).toBeDefined();
        r.outbox.start();
        await r.outbox.idle();
        expect(r.outbox.get(a.imageId)?.state).toBe('committed');
        if (bRow) expect(r.outbox.get(b.imageId)?.state).toBe('committed');
        const creates = r.standIn.creates;
        expect(creates.filter((c) => c.imageId === a.imageId).map((c) => c.sha256)).toEqual([sha(a.media!.bytes!)]);
        const bCreates = creates.filter((c) => c.imageId === b.imageId);
        if (bRow) {
          expect(bCreates.map((c) => `${c.resourceType}:${c.sha256}`).sort()).toEqual([`DocumentReference:${sha(b.document!.bytes!)}`, `Media:${sha(b.media!.bytes!)}`]);
        } else {
          expect(bCreates).toEqual([]);
        }
        expect(payloadFiles(r.dir)).toEqual([]);
      } finally {
        await r.dispose();
      }
    }
    console.log(`power-loss points: ${points}, of which after B was acknowledged: ${ackedBeforeCrash}`);
    expect(points).toBeGreaterThanOrEqual(10);
    expect(ackedBeforeCrash).toBeGreaterThanOrEqual(1);
  });
});
