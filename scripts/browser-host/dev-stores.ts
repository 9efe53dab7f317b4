/**
 * Development-only stores for the companion core in plain Node (no electron-store, often no OS keyring). Never used
 * by the packaged app: electron/main uses electron-store and keytar.
 */
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { SettingsStore, StoredConfig } from '../../electron/core/settings';

/** Settings as a JSON file (the shell uses electron-store). */
export class DevFileSettingsStore implements SettingsStore {
  constructor(private readonly path: string) {}
  /** null when there is no file yet, or it cannot be read as JSON. */
  load(): Promise<unknown> {
    return readFile(this.path, 'utf8')
      .then((text) => JSON.parse(text) as unknown)
      .catch(() => null);
  }
  /** Written whole to a temp file, then renamed over the old one (0600). */
  async save(config: StoredConfig): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.tmp`;
    await writeFile(tmp, JSON.stringify(config, null, 2), { mode: 0o600 });
    await rename(tmp, this.path);
    await chmod(this.path, 0o600);
  }
}

/** Secrets in a 0600 JSON file: DEVELOPMENT ONLY (electron/secrets/dev-file-store.ts). */
export { DevelopmentOnlyFileSecretStore as DevFileSecretStoreForDevelopmentOnly } from '../../electron/secrets';
