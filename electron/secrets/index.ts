/**
 * Secrets of the companion (device credential, outbox key) in the OS credential store.
 * Plain Node: no electron import. Production uses KeytarSecretStore (Windows Credential Manager,
 * macOS Keychain, libsecret); MemorySecretStore is for tests and the dev host only.
 */
import keytar from 'keytar';

export interface SecretStore {
  get(account: string): Promise<string | null>;
  set(account: string, value: string): Promise<void>;
  /** True when something was deleted. */
  delete(account: string): Promise<boolean>;
}

/** The service name every companion secret lives under in the OS credential store. */
export const SECRET_SERVICE = 'ClinicPro Images';

/** Well-known account names. */
export const SECRET_ACCOUNTS = {
  deviceCredential: 'device-credential',
  outboxKey: 'outbox-key',
} as const;

function checkAccount(account: string): void {
  if (typeof account !== 'string' || account.length === 0 || account.length > 200) {
    throw new TypeError(`Expected a non-empty account name of at most 200 characters but received ${JSON.stringify(account)}`);
  }
}

/** The OS credential store through keytar. `service` is overridable for tests only. */
export class KeytarSecretStore implements SecretStore {
  constructor(private readonly service: string = SECRET_SERVICE) {}

  async get(account: string): Promise<string | null> {
    checkAccount(account);
    return keytar.getPassword(this.service, account);
  }

  async set(account: string, value: string): Promise<void> {
    checkAccount(account);
    await keytar.setPassword(this.service, account, value);
  }

  async delete(account: string): Promise<boolean> {
    checkAccount(account);
    return keytar.deletePassword(this.service, account);
  }
}

/** In-memory secrets: tests and the dev host only. Lost when the process exits. */
export class MemorySecretStore implements SecretStore {
  private readonly values = new Map<string, string>();

  async get(account: string): Promise<string | null> {
    checkAccount(account);
    return this.values.get(account) ?? null;
  }

  async set(account: string, value: string): Promise<void> {
    checkAccount(account);
    this.values.set(account, value);
  }

  async delete(account: string): Promise<boolean> {
    checkAccount(account);
    return this.values.delete(account);
  }
}

export * from './device-credentials';
