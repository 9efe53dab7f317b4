/**
 * Which SecretStore the Electron app uses: the OS credential store through keytar; on a developer's unpackaged
 * run without keytar, the DEVELOPMENT ONLY file store with a loud warning; a packaged app without keytar does
 * not start (it could neither keep its enrolment nor read its waiting images safely).
 */
import { DevelopmentOnlyFileSecretStore } from './dev-file-store';
import { KeytarSecretStore, loadKeytar, type KeytarLoad } from './keytar-store';
import type { SecretStore } from './store';

/** The packaged app cannot reach the OS credential store: it refuses to start, with this plain message. */
export class SecretStoreUnavailableError extends Error {
  override readonly name = 'SecretStoreUnavailableError';
  constructor(readonly reason: string) {
    super(
      'ClinicPro Images keeps this PC’s enrolment in the Windows Credential Manager and cannot reach it, so it will not start. ' +
        'Restart the PC; if this happens again, call ClinicPro support.',
    );
  }
}

export interface OpenSecretStoreOptions {
  /** `app.isPackaged`: true for an installed build. */
  packaged: boolean;
  /** Where the development fallback keeps its file (the app's data folder). */
  developmentFile: string;
  /** Says, loudly, that the development fallback is in use (console and log). */
  warn: (message: string) => void;
  /** Injectable for tests. */
  loadKeytar?: () => KeytarLoad;
}

export function openSecretStore(options: OpenSecretStoreOptions): SecretStore {
  const loaded = (options.loadKeytar ?? loadKeytar)();
  if (loaded.ok) return new KeytarSecretStore(loaded.keytar);
  if (options.packaged) throw new SecretStoreUnavailableError(loaded.reason);
  options.warn(
    `WARNING: DEVELOPMENT ONLY secret store in use — ${loaded.reason}. The device credential and the outbox key are kept in a plain file, ` +
      `${options.developmentFile}. An installed (packaged) build never does this: it refuses to start without the OS credential store.`,
  );
  return new DevelopmentOnlyFileSecretStore(options.developmentFile);
}
