/**
 * Adding files on the PC (base64 bytes, or Electron drag-drop paths): each checked and ingested into a new record of
 * the working patient, in parallel; the GP gets one notice for all that failed.
 */
import { lstat } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import type { BridgeRequest, BridgeResponse } from '../../shared/contracts/bridge';
import { AppError, toAppError, type ErrorBody } from '../../shared/errors/app-error';
import { LIMITS } from '../../shared/limits';
import type { CaptureSession } from '../session';
import { errKind } from './log-safe';
import type { CoreParts } from './ports';

type Input = { path: string } | { buffer: Buffer };
export interface NamedInput {
  name: string;
  load: () => Promise<Input>;
}

/** A paste, the file picker. */
export function bytesInputs(files: BridgeRequest<'images.addFiles'>['files']): NamedInput[] {
  return files.map((f) => ({
    name: f.name,
    load: async () => {
      const buffer = Buffer.from(f.dataBase64, 'base64');
      if (buffer.length > LIMITS.maxUploadFileBytes) throw new AppError('ERR_IMAGE_FILE_TOO_LARGE');
      if (buffer.length === 0) throw new AppError('ERR_IMAGE_UNSUPPORTED');
      return { buffer };
    },
  }));
}

/** Electron drag-drop: absolute paths of regular files only. */
export function pathInputs(paths: readonly string[]): NamedInput[] {
  return paths.map((p) => ({
    name: p.split(/[\\/]/).pop() ?? 'file',
    load: async () => {
      if (!isAbsolute(p)) throw new AppError('ERR_IMAGE_UNSUPPORTED', { detail: 'not a file' });
      const st = await lstat(p).catch(() => undefined);
      if (st === undefined || !st.isFile()) throw new AppError('ERR_IMAGE_UNSUPPORTED', { detail: 'not a file' });
      if (st.size > LIMITS.maxUploadFileBytes) throw new AppError('ERR_IMAGE_FILE_TOO_LARGE');
      return { path: p };
    },
  }));
}

export class ImageIntake {
  constructor(private readonly deps: Pick<CoreParts, 'library' | 'notices' | 'log'>) {}

  /** Add inputs for `session`'s patient: ids of those added, and each rejected one by name with its error. */
  async add(session: CaptureSession, inputs: NamedInput[]): Promise<BridgeResponse<'images.addFiles'>> {
    const loaded = await Promise.all(inputs.map((inp) => inp.load().then((input) => ({ input }), (err: unknown) => ({ err }))));
    const outcomes = await Promise.all(loaded.map((l, i) => this.addOne(session, (inputs[i] as NamedInput).name, l)));
    const imageIds = outcomes.flatMap((o) => (o.id === undefined ? [] : [o.id]));
    const rejected = outcomes.flatMap((o, i) => (o.error === undefined ? [] : [{ name: (inputs[i] as NamedInput).name, error: o.error }]));
    if (rejected.length > 0) {
      const message = rejected.length === 1 ? `1 file could not be added: ${rejected[0]?.error.message}` : `${rejected.length} files could not be added.`;
      this.deps.notices.notify('images-rejected', 'warning', message);
    }
    this.deps.log.info({ added: imageIds.length, rejected: rejected.length }, 'images added');
    return { imageIds, rejected };
  }

  private async addOne(session: CaptureSession, name: string, loaded: { input: Input } | { err: unknown }): Promise<{ id?: string; error?: ErrorBody }> {
    try {
      if ('err' in loaded) throw loaded.err;
      const rec = this.deps.library.create(session, 'desktop', name, {});
      return (await this.deps.library.ingest(rec, loaded.input)) ? { id: rec.id } : {};
    } catch (err) {
      const e = toAppError(err);
      if (e.code === 'ERR_INTERNAL') this.deps.log.error(errKind(e.cause ?? err), 'ingest failed unexpectedly');
      return { error: e.toBody() };
    }
  }
}
