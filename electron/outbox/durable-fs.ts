/**
 * The outbox's file-system operations behind an injectable shim (fault tests inject ENOSPC/EIO/EPERM), and the durable
 * write: temp file (exclusive) → write → fsync → close → rename → fsync the folder.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../../shared/errors';

export interface FileHandleLike {
  write(buffer: Uint8Array, offset: number, length: number, position: number | null): Promise<{ bytesWritten: number }>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface OutboxFs {
  open(path: string, flags: string, mode?: number): Promise<FileHandleLike>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  readFile(path: string): Promise<Buffer>;
  readdir(path: string): Promise<string[]>;
  mkdir(path: string, options: { recursive: true }): Promise<unknown>;
}

export const nodeFs: OutboxFs = fsp;

export const TEMP_PREFIX = '.tmp-';

export function errnoOf(err: unknown): string | undefined {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** ENOSPC/EDQUOT → ERR_STORAGE_FULL; any other file-system failure → ERR_STORAGE_IO. AppErrors pass through. */
export function storageError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const code = errnoOf(err);
  if (code === 'ENOSPC' || code === 'EDQUOT') return new AppError('ERR_STORAGE_FULL', { detail: code, cause: err });
  return new AppError('ERR_STORAGE_IO', { detail: code ?? 'file system error', cause: err });
}

export interface RenameRetry {
  /** First try included. Default 6. */
  attempts: number;
  /** Before retry n (1-based). Default 20·2^(n-1) ms. */
  delayMs: (n: number) => number;
  sleep: (ms: number) => Promise<void>;
}

const defaultRenameRetry: RenameRetry = {
  attempts: 6,
  delayMs: (n) => 20 * 2 ** (n - 1),
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

/** Windows: antivirus, indexers and backup agents briefly hold files open → EPERM/EBUSY/EACCES on rename. Retry those. */
export async function renameWithRetry(fs: OutboxFs, from: string, to: string, retry: RenameRetry = defaultRenameRetry): Promise<void> {
  for (let n = 1; ; n++) {
    try {
      await fs.rename(from, to);
      return;
    } catch (err) {
      const code = errnoOf(err);
      const transient = code === 'EPERM' || code === 'EBUSY' || code === 'EACCES';
      if (!transient || n >= retry.attempts) throw err;
      await retry.sleep(retry.delayMs(n));
    }
  }
}

/** fsync a directory so a rename or unlink in it survives power loss. Windows cannot open directories: skipped there. */
export async function fsyncDir(fs: OutboxFs, dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const h = await fs.open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

async function writeAll(h: FileHandleLike, data: Uint8Array, at = 0): Promise<void> {
  let off = 0;
  while (off < data.byteLength) {
    const { bytesWritten } = await h.write(data, off, data.byteLength - off, at + off);
    if (bytesWritten <= 0) throw Object.assign(new Error('short write'), { code: 'EIO' });
    off += bytesWritten;
  }
}

/**
 * Writes `dir/finalName` durably except the folder fsync (the caller's, once for several files). `data` may come in
 * parts, written one after another (a large file is then never joined in memory).
 */
export async function writeFileAtomic(fs: OutboxFs, dir: string, finalName: string, data: Uint8Array | readonly Uint8Array[], retry?: RenameRetry): Promise<void> {
  const tmp = join(dir, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
  let handle: FileHandleLike | undefined;
  try {
    handle = await fs.open(tmp, 'wx', 0o600);
    let at = 0;
    for (const part of data instanceof Uint8Array ? [data] : data) {
      await writeAll(handle, part, at);
      at += part.byteLength;
    }
    await handle.sync();
    const h = handle;
    handle = undefined;
    await h.close();
    await renameWithRetry(fs, tmp, join(dir, finalName), retry);
  } catch (err) {
    if (handle) await handle.close().catch(() => undefined);
    await fs.unlink(tmp).catch(() => undefined);
    throw err;
  }
}
