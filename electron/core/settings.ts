/**
 * Settings and the enrolment record behind a small store (electron-store in the shell, memory in tests). What is read
 * is validated field by field, falling back to defaults, so a damaged file never stops the companion.
 */
import { Value } from '@sinclair/typebox/value';
import { Type, type Static } from '@sinclair/typebox';
import { EnrolmentRenewalReason, Settings, type SettingsPatch } from '../../shared/contracts/bridge';
import { AppError } from '../../shared/errors/app-error';
import { LIMITS } from '../../shared/limits';

export const DEFAULT_SETTINGS: Settings = {
  version: 1,
  /** The embedded sandbox gateway of `npm start`. */
  gatewayUrl: 'http://127.0.0.1:47700',
  roomLabel: 'Consult room',
  // Inbox Scan is what GPs and referral forms see (ALEX.md "Write targets").
  defaultTargets: { media: false, inboxScan: true },
  inboxScanFormat: 'pdf',
  captionStrip: true,
  requiredFields: ['bodySiteCode'],
  maxAttachmentBytes: LIMITS.alexMaxAttachmentBytes,
};

/** The secret itself lives in the SecretStore. */
export const EnrolmentRecord = Type.Object({
  deviceId: Type.String(),
  deviceName: Type.String(),
  practiceName: Type.String(),
  facilityId: Type.String(),
  gatewayUrl: Type.String(),
});
export type EnrolmentRecord = Static<typeof EnrolmentRecord>;

/** The enrolment above must be renewed (the gateway withdrew it, or the stored credential cannot be read), since `at` (epoch ms). */
export const RenewalRecord = Type.Object({ reason: EnrolmentRenewalReason, at: Type.Number({ minimum: 0 }) });
export type RenewalRecord = Static<typeof RenewalRecord>;

export interface StoredConfig {
  settings: Settings;
  enrolment: EnrolmentRecord | null;
  /** Absent or null: the enrolment works as far as the companion knows. Only meaningful with an enrolment. */
  renewal?: RenewalRecord | null;
}

export interface SettingsStore {
  load(): Promise<unknown>;
  save(config: StoredConfig): Promise<void>;
}

/** Each valid field is kept, each invalid one falls back to its default. */
export function readConfig(raw: unknown): StoredConfig {
  const obj = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
  const s = typeof obj.settings === 'object' && obj.settings !== null ? (obj.settings as Record<string, unknown>) : {};
  const settings: Record<string, unknown> = { ...DEFAULT_SETTINGS };
  for (const key of Object.keys(DEFAULT_SETTINGS) as (keyof Settings)[]) {
    if (key === 'version' || !(key in s)) continue;
    const candidate = { ...settings, [key]: s[key] };
    if (Value.Check(Settings, candidate)) settings[key] = s[key];
  }
  const enrolment = Value.Check(EnrolmentRecord, obj.enrolment) ? obj.enrolment : null;
  const renewal = enrolment !== null && Value.Check(RenewalRecord, obj.renewal) ? obj.renewal : null;
  return { settings: settings as Settings, enrolment, renewal };
}

/** The result must be valid as a whole, else ERR_REQUEST_INVALID and nothing changes. */
export function applySettingsPatch(current: Settings, patch: SettingsPatch): Settings {
  const next = { ...current, ...patch, version: 1 as const };
  if (!Value.Check(Settings, next)) throw new AppError('ERR_REQUEST_INVALID', { detail: 'settings not valid' });
  if (!/^https?:\/\/[^\s/]+/.test(next.gatewayUrl)) throw new AppError('ERR_REQUEST_INVALID', { detail: 'gatewayUrl must be an http(s) address' });
  return next;
}

/** The configuration in memory and its store: whoever changes it replaces it whole. */
export class ConfigCell {
  constructor(
    private value: StoredConfig,
    private readonly store: SettingsStore,
  ) {}

  static async load(store: SettingsStore): Promise<ConfigCell> {
    return new ConfigCell(readConfig(await store.load()), store);
  }

  get current(): StoredConfig {
    return this.value;
  }

  /** Readers see it at once; the answer settles with the save. */
  replace(next: StoredConfig): Promise<void> {
    this.value = next;
    return this.store.save(next);
  }
}
