/**
 * Development-only stores for the companion core in plain Node (no electron-store, often no OS keyring). Never used
 * by the packaged app: electron/main uses electron-store and keytar.
 */
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { SettingsStore, StoredConfig } from '../../electron/core/settings';

async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  await writeFile(tmp, JSON.stringify(value, null, 2), { mode: 0o600 });
  await rename(tmp, path);
  await chmod(path, 0o600);
}

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as unknown;
  } catch {
    return null;
  }
}

/** Settings as a JSON file (the shell uses electron-store). */
export class DevFileSettingsStore implements SettingsStore {
  constructor(private readonly path: string) {}
  load(): Promise<unknown> {
    return readJson(this.path);
  }
  save(config: StoredConfig): Promise<void> {
    return writeJsonAtomic(this.path, config);
  }
}

/** Secrets in a 0600 JSON file: DEVELOPMENT ONLY (electron/secrets/dev-file-store.ts). */
export { DevelopmentOnlyFileSecretStore as DevFileSecretStoreForDevelopmentOnly } from '../../electron/secrets';
