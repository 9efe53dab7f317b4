/** DEVELOPMENT ONLY: secrets in a plain JSON file (0600); whoever reads it has them. No packaged build opens it. */
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { checkAccount, type SecretStore } from './store';

export const DEVELOPMENT_SECRETS_WARNING =
  'DEVELOPMENT ONLY: ClinicPro Images secrets in a plain file because no OS credential store was available. Never copy this file to a practice PC.';

function secretsOf(v: unknown): Record<string, string> {
  if (typeof v !== 'object' || v === null) return {};
  const inner = (v as { secrets?: unknown }).secrets;
  // Files written before the warning field held the accounts at the top level.
  const source = typeof inner === 'object' && inner !== null ? inner : v;
  return Object.fromEntries(Object.entries(source as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === 'string' && e[0] !== 'warning'));
}

export class DevelopmentOnlyFileSecretStore implements SecretStore {
  constructor(readonly path: string) {}

  private async all(): Promise<Record<string, string>> {
    try {
      return secretsOf(JSON.parse(await readFile(this.path, 'utf8')) as unknown);
    } catch {
      return {};
    }
  }

  private async write(secrets: Record<string, string>): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.tmp`;
    await writeFile(tmp, JSON.stringify({ warning: DEVELOPMENT_SECRETS_WARNING, secrets }, null, 2), { mode: 0o600 });
    await rename(tmp, this.path);
    await chmod(this.path, 0o600);
  }

  async get(account: string): Promise<string | null> {
    checkAccount(account);
    return (await this.all())[account] ?? null;
  }

  async set(account: string, value: string): Promise<void> {
    checkAccount(account);
    const all = await this.all();
    all[account] = value;
    await this.write(all);
  }

  async delete(account: string): Promise<boolean> {
    checkAccount(account);
    const all = await this.all();
    if (!(account in all)) return false;
    delete all[account];
    await this.write(all);
    return true;
  }
}
