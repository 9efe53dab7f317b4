/**
 * The embedded store's writes (sqlite.ts): each is on disk — readable by another connection — when its
 * promise settles; a write that fails fails alone with SQLite's message and code and stores nothing;
 * writes made before close are kept and later ones refused; nothing keeps the process alive (a lock held
 * past the busy timeout: store.test.ts). The behavioural suite for every store is
 * store.test.ts.
 */
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { device, T0 } from './records.testkit';
import { SqliteStore } from './sqlite';
import type { AuditRecord, EnrolmentCodeRecord } from './types';

const ROOT = join(import.meta.dirname, '..', '..', '..');

const code = (hash: string): EnrolmentCodeRecord => ({ codeHash: hash, facilityId: 'F2N060-E', practiceName: 'P', createdAt: T0, expiresAt: T0 + 60_000, usedAt: null, usedByDeviceId: null });
const audit = (id: string): AuditRecord => ({ id, at: T0, deviceId: 'dev_a', facilityId: null, patientHash: null, action: 'x', outcome: 'y', imageId: null, resourceIds: [], errorCode: null, correlationId: id });

let dir: string;
let seq = 0;
const newFile = (): string => join(dir, `w${++seq}`, 'gateway.sqlite');

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'gw-sqlite-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sqlite writes', () => {
  it('settles a write only once another connection can read it', async () => {
    const file = newFile();
    const s = new SqliteStore(file);
    const other = new Database(file, { readonly: true });
    try {
      const readBack = other.prepare('SELECT json FROM devices WHERE device_id = ?');
      const seenOnSettle = await Promise.all(
        Array.from({ length: 30 }, async (_, i) => {
          const id = `dev_${i}`;
          await s.putDevice(device(id));
          // Read at once, on settling: by another connection and by the store itself.
          return readBack.get(id) !== undefined && (await s.getDevice(id)) !== null;
        }),
      );
      expect(seenOnSettle.every(Boolean)).toBe(true);
    } finally {
      other.close();
      await s.close();
    }
  });

  it.each([
    ['in memory', () => new SqliteStore(':memory:')],
    ['file', () => new SqliteStore(newFile())],
  ])('fails a write that throws alone, with SQLite message and code (%s)', async (_name, make) => {
    const s = make();
    try {
      await s.putEnrolmentCode(code('dup'));
      const good = Array.from({ length: 10 }, (_, i) => s.putDevice(device(`dev_${i}`)));
      const duplicate = s.putEnrolmentCode(code('dup'));
      const more = s.appendAudit(audit('a-1'));
      await Promise.all(good);
      await more;
      await expect(duplicate).rejects.toMatchObject({
        message: expect.stringMatching(/UNIQUE constraint failed: enrolment_codes\.code_hash/),
        code: 'SQLITE_CONSTRAINT_PRIMARYKEY',
      });
      expect(await s.listDevices()).toHaveLength(10);
      expect((await s.listAudit({})).map((a) => a.id)).toEqual(['a-1']);
    } finally {
      await s.close();
    }
  });

  it('keeps the writes made before close, then refuses more and reports not ready', async () => {
    const file = newFile();
    const s = new SqliteStore(file);
    await s.putDevice(device('dev_a'));
    const made = [s.appendAudit(audit('a-1')), s.revokeDevice('dev_a', T0 + 1), s.putEnrolmentCode(code('c1'))];
    await s.close();
    await expect(s.appendAudit(audit('a-late'))).rejects.toThrow(/closed/);
    expect(await Promise.all(made)).toEqual([undefined, true, undefined]);
    expect(await s.ping()).toBe(false);
    await s.close(); // twice is harmless

    const reopened = new SqliteStore(file);
    try {
      expect((await reopened.listAudit({})).map((a) => a.id)).toEqual(['a-1']);
      expect((await reopened.getDevice('dev_a'))?.revokedAt).toBe(T0 + 1);
    } finally {
      await reopened.close();
    }
  });
});

describe('sqlite store in a process of its own', () => {
  /** Runs a script with the store under tsx; resolves with its exit code and output, or fails if it does not end by itself. */
  function runScript(body: string): Promise<{ code: number | null; out: string }> {
    const script = join(dir, `script-${++seq}.mts`);
    const storeUrl = pathToFileURL(join(ROOT, 'gateway', 'src', 'store', 'sqlite.ts')).href;
    writeFileSync(script, `import { SqliteStore } from ${JSON.stringify(storeUrl)};\nconst file = ${JSON.stringify(newFile())};\n${body}\n`);
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const guard = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`the process did not end by itself: ${out}`));
      }, 20_000);
      child.on('exit', (exitCode) => {
        clearTimeout(guard);
        resolve({ code: exitCode, out });
      });
    });
  }

  it('ends by itself, closed or not', async () => {
    const closed = await runScript(
      `const s = new SqliteStore(file);\nconsole.log('ready', await s.ping());\nawait s.putDevice(${JSON.stringify(device('dev_a'))});\nconsole.log('read', (await s.getDevice('dev_a'))?.deviceId);\nawait s.close();`,
    );
    expect(closed).toEqual({ code: 0, out: 'ready true\nread dev_a\n' });
    const unclosed = await runScript(
      `const s = new SqliteStore(file);\nvoid s.putDevice(${JSON.stringify(device('dev_a'))}).then(async () => console.log('written', (await s.getDevice('dev_a'))?.deviceId));`,
    );
    expect(unclosed).toEqual({ code: 0, out: 'written dev_a\n' });
    const idle = await runScript(`new SqliteStore(file);\nconsole.log('opened');`);
    expect(idle).toEqual({ code: 0, out: 'opened\n' });
  });
});
