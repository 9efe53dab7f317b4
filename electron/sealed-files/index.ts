/** Photos sealed at rest (AES-256-GCM; key, format and crash safety in README.md); clear bytes only in memory. */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, type CipherGCM, type DecipherGCM } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { AppError } from '../../shared/errors';
import type { MasterFiles } from '../imaging/types';
import { loadOrCreateKeys, OUTBOX_KEY_ACCOUNT } from '../outbox/crypto';
import { fsyncDir, nodeFs, writeFileAtomic } from '../outbox/durable-fs';
import type { SecretStore } from '../secrets';

const MAGIC = Buffer.from('CPS1');
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = MAGIC.length + IV_BYTES;
type Purpose = 'master';

const aad = (purpose: Purpose, file: string): Buffer => Buffer.from(`clinicpro-images/sealed-file/v1\n${purpose}\n${basename(file)}`, 'utf8');

/** The sealed file in three parts — header, ciphertext, tag — written in turn (the ciphertext is never copied to join them). */
function seal(key: Buffer, purpose: Purpose, file: string, bytes: Uint8Array): Uint8Array[] {
  const iv = randomBytes(IV_BYTES);
  const c: CipherGCM = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(aad(purpose, file));
  const body = c.update(bytes);
  return [Buffer.concat([MAGIC, iv]), body, Buffer.concat([c.final(), c.getAuthTag()])];
}

export function isSealed(bytes: Uint8Array): boolean {
  return bytes.length >= MAGIC.length && Buffer.from(bytes.buffer, bytes.byteOffset, MAGIC.length).equals(MAGIC);
}

function open(key: Buffer, purpose: Purpose, file: string, sealed: Buffer): Buffer {
  if (sealed.length < HEADER_BYTES + TAG_BYTES || !isSealed(sealed)) throw new AppError('ERR_STORAGE_CORRUPT', { detail: 'sealed file has no valid header' });
  try {
    const d: DecipherGCM = createDecipheriv('aes-256-gcm', key, sealed.subarray(MAGIC.length, HEADER_BYTES));
    d.setAAD(aad(purpose, file));
    d.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    return Buffer.concat([d.update(sealed.subarray(HEADER_BYTES, sealed.length - TAG_BYTES)), d.final()]);
  } catch (err) {
    throw new AppError('ERR_STORAGE_CORRUPT', { detail: 'sealed file failed authentication', cause: err });
  }
}

async function readWhole(file: string): Promise<Buffer> {
  try {
    return await fsp.readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new AppError('ERR_NOT_FOUND', { detail: 'working image not found', cause: err });
    throw err;
  }
}

/** A working master from an earlier version, still in clear: JPEG or PDF by its first bytes. */
const isLegacyClearMaster = (bytes: Buffer): boolean =>
  (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) || bytes.subarray(0, 5).toString('latin1') === '%PDF-';

/** HKDF of the outbox's master key (created on first use) under this module's label. */
export async function loadSealKey(secrets: SecretStore): Promise<Buffer> {
  await loadOrCreateKeys(secrets); // creates and checks the master key, as the outbox does
  const master = Buffer.from((await secrets.get(OUTBOX_KEY_ACCOUNT)) ?? '', 'base64');
  return Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), 'clinicpro-images/v1/sealed-files', 32));
}

export function sealedFiles(key: Buffer): { masters: MasterFiles } {
  const masters: MasterFiles = {
    async write(file, bytes) {
      const dir = dirname(file);
      await writeFileAtomic(nodeFs, dir, basename(file), seal(key, 'master', file, bytes));
      await fsyncDir(nodeFs, dir);
    },
    async read(file) {
      const bytes = await readWhole(file);
      if (!isSealed(bytes) && isLegacyClearMaster(bytes)) {
        await masters.write(file, bytes);
        return bytes;
      }
      return open(key, 'master', file, bytes);
    },
  };
  return { masters };
}

/** Seals in place every master an earlier version left in clear in `dir`; how many. */
export async function sealLegacyMasters(dir: string, files: ReturnType<typeof sealedFiles>): Promise<number> {
  const names = (await fsp.readdir(dir).catch(() => [] as string[])).filter((n) => /\.master\.(jpg|pdf)$/.test(n));
  let sealedCount = 0;
  for (const name of names) {
    const head = await fsp.readFile(join(dir, name)).catch(() => null);
    if (head === null || isSealed(head) || !isLegacyClearMaster(head)) continue;
    await files.masters.write(join(dir, name), head);
    sealedCount += 1;
  }
  return sealedCount;
}
