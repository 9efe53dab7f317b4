/** Which SecretStore the Electron app uses (README.md): keytar; unpackaged without it, the development file; else none. */
import { DevelopmentOnlyFileSecretStore } from './dev-file-store';
import { KeytarSecretStore, loadKeytar, type KeytarLoad } from './keytar-store';
import type { SecretStore } from './store';

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
  packaged: boolean;
  developmentFile: string;
  /** Says, loudly, that the development fallback is in use. */
  warn: (message: string) => void;
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
