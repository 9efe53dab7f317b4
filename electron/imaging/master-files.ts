/**
 * Plain master files (the default for the imaging service alone): temp file, fsync, rename; read whole.
 * The companion passes sealed files instead (electron/sealed-files), so nothing is in clear on its disk.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AppError } from '../../shared/errors';
import type { MasterFiles } from './types';

export const plainMasterFiles: MasterFiles = {
  async write(file, bytes) {
    const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      const handle = await fs.open(tmp, 'wx', 0o600);
      try {
        await handle.writeFile(bytes);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fs.rename(tmp, file);
    } catch (err) {
      await fs.rm(tmp, { force: true }).catch(() => undefined);
      throw err;
    }
  },
  async read(file) {
    try {
      return await fs.readFile(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new AppError('ERR_NOT_FOUND', { detail: 'working image not found', cause: err });
      throw err;
    }
  },
};
