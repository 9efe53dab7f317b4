/** The OS credential store through keytar, an optional dependency: loaded at run time, its absence is an answer. */
import { createRequire } from 'node:module';
import { checkAccount, SECRET_SERVICE, type SecretStore } from './store';

/** Declared here: keytar's own types are absent when it is not installed. */
export interface KeytarApi {
  getPassword(service: string, account: string): Promise<string | null>;
  setPassword(service: string, account: string, password: string): Promise<void>;
  deletePassword(service: string, account: string): Promise<boolean>;
}

export type KeytarLoad = { ok: true; keytar: KeytarApi } | { ok: false; reason: string };

function isKeytarApi(m: unknown): m is KeytarApi {
  const k = m as Partial<Record<keyof KeytarApi, unknown>> | null;
  return typeof k === 'object' && k !== null && typeof k.getPassword === 'function' && typeof k.setPassword === 'function' && typeof k.deletePassword === 'function';
}

export function loadKeytar(load: () => unknown = () => createRequire(import.meta.url)('keytar')): KeytarLoad {
  let mod: unknown;
  try {
    mod = load();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException | null)?.code;
    return {
      ok: false,
      reason: code === 'MODULE_NOT_FOUND' ? 'keytar is not installed (its native build needs libsecret-1-dev on Linux)' : `keytar could not be loaded (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`,
    };
  }
  const api = isKeytarApi(mod) ? mod : isKeytarApi((mod as { default?: unknown } | null)?.default) ? (mod as { default: KeytarApi }).default : null;
  return api ? { ok: true, keytar: api } : { ok: false, reason: 'keytar loaded but does not look like keytar' };
}

/** Secrets in the OS credential store. `service` is overridable for tests only. */
export class KeytarSecretStore implements SecretStore {
  constructor(
    private readonly keytar: KeytarApi,
    private readonly service: string = SECRET_SERVICE,
  ) {}

  async get(account: string): Promise<string | null> {
    checkAccount(account);
    return this.keytar.getPassword(this.service, account);
  }

  async set(account: string, value: string): Promise<void> {
    checkAccount(account);
    await this.keytar.setPassword(this.service, account, value);
  }

  async delete(account: string): Promise<boolean> {
    checkAccount(account);
    return this.keytar.deletePassword(this.service, account);
  }
}
