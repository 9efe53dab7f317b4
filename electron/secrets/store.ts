/** The SecretStore interface, the names secrets live under, and the in-memory store; nothing here touches the OS. */
export interface SecretStore {
  get(account: string): Promise<string | null>;
  set(account: string, value: string): Promise<void>;
  /** True when something was deleted. */
  delete(account: string): Promise<boolean>;
}

export const SECRET_SERVICE = 'ClinicPro Images';

export const SECRET_ACCOUNTS = {
  deviceCredential: 'device-credential',
  outboxKey: 'outbox-key',
} as const;

export function checkAccount(account: string): void {
  if (typeof account !== 'string' || account.length === 0 || account.length > 200) {
    throw new TypeError(`Expected a non-empty account name of at most 200 characters but received ${JSON.stringify(account)}`);
  }
}

/** Tests and the browser host only. */
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
