/**
 * Photos sealed at rest. Every image file the companion keeps — working masters (`images/<id>.master.*`)
 * and phone uploads while they wait for ingest (`lan/<session>/<id>.part`) — is AES-256-GCM sealed with
 * a key derived from the outbox's master key in the OS credential store (SecretStore account
 * `outbox-key`, electron/outbox/crypto.ts), under its own HKDF label. Bytes are decrypted only into memory.
 *
 * Format: `CPS1` ‖ 12-byte IV ‖ ciphertext ‖ 16-byte tag; the additional data binds a file to its purpose
 * and file name, so a sealed file renamed onto another is refused (ERR_STORAGE_CORRUPT).
 * - Masters are written whole: sealed in memory, then temp file → fsync → rename (durable-fs), so a crash
 *   mid-write leaves at most a sealed temp file, never clear bytes.
 * - Uploads are sealed as they stream in (`UploadSealer`): the clear bytes exist only in memory.
 * - A master written in clear by an earlier version is sealed in place the first time it is read
 *   (`sealLegacyMasters` does all of them at start-up).
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, type CipherGCM, type DecipherGCM } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { AppError } from '../../shared/errors';
import { loadOrCreateKeys, OUTBOX_KEY_ACCOUNT } from '../outbox/crypto';
import { fsyncDir, nodeFs, writeFileAtomic } from '../outbox/durable-fs';
import type { SecretStore } from '../secrets';

const MAGIC = Buffer.from('CPS1');
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = MAGIC.length + IV_BYTES;
type Purpose = 'master' | 'upload';

/** Streams one file's bytes into sealed bytes: header first, then each chunk, then the tag. */
export interface UploadSealer {
  readonly header: Buffer;
  update(chunk: Uint8Array): Buffer;
  final(): Buffer;
}

export interface SealedFiles {
  /** For the imaging service (`masterFiles`). */
  masters: { write(path: string, bytes: Buffer): Promise<void>; read(path: string): Promise<Buffer> };
  /** For the LAN server (`sealUploads`). */
  uploads: { begin(path: string): UploadSealer; open(path: string): Promise<Buffer> };
}

const aad = (purpose: Purpose, file: string): Buffer => Buffer.from(`clinicpro-images/sealed-file/v1\n${purpose}\n${basename(file)}`, 'utf8');

function sealer(key: Buffer, purpose: Purpose, file: string): UploadSealer {
  const iv = randomBytes(IV_BYTES);
  const c: CipherGCM = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(aad(purpose, file));
  return {
    header: Buffer.concat([MAGIC, iv]),
    update: (chunk) => c.update(chunk),
    final: () => Buffer.concat([c.final(), c.getAuthTag()]),
  };
}

function seal(key: Buffer, purpose: Purpose, file: string, plain: Uint8Array): Buffer {
  const s = sealer(key, purpose, file);
  return Buffer.concat([s.header, s.update(plain), s.final()]);
}

/** True when the bytes start as a sealed file. */
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

/** The file-sealing key: HKDF of the outbox's master key (created on first use) under this module's label. */
export async function loadSealKey(secrets: SecretStore): Promise<Buffer> {
  await loadOrCreateKeys(secrets); // creates and checks the master key, as the outbox does
  const master = Buffer.from((await secrets.get(OUTBOX_KEY_ACCOUNT)) ?? '', 'base64');
  return Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), 'clinicpro-images/v1/sealed-files', 32));
}

export function sealedFiles(key: Buffer): SealedFiles {
  const masters: SealedFiles['masters'] = {
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
  return {
    masters,
    uploads: {
      begin: (file) => sealer(key, 'upload', file),
      open: async (file) => open(key, 'upload', file, await readWhole(file)),
    },
  };
}

/** Seals, in place, every working master an earlier version left in clear in `dir`. Returns how many. */
export async function sealLegacyMasters(dir: string, files: SealedFiles): Promise<number> {
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
