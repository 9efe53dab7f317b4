/** Settings in electron-store as `{ schemaVersion, config }`, upgraded step by step on read; never secrets. */
import Store from 'electron-store';
import type { SettingsStore, StoredConfig } from '../core/settings';

export const SETTINGS_SCHEMA_VERSION = 1;

type Doc = Record<string, unknown>;

/** upgrade[n]: version n → n+1. Version 0 is the pre-release layout (flat keys, no version). */
const UPGRADES: Record<number, (doc: Doc) => Doc> = {
  0: (doc) => {
    const settings: Doc = {};
    for (const k of ['gatewayUrl', 'roomLabel', 'captionStrip', 'inboxScanFormat']) if (doc[k] !== undefined) settings[k] = doc[k];
    const enrolment =
      typeof doc.deviceId === 'string'
        ? { deviceId: doc.deviceId, deviceName: doc.deviceName, practiceName: doc.practiceName, facilityId: doc.facilityId, gatewayUrl: doc.gatewayUrl }
        : null;
    return { schemaVersion: 1, config: { settings, enrolment } };
  },
};

/** Unknown future versions are read as they are. */
export function upgradeSettingsDocument(raw: unknown): { schemaVersion: number; config: unknown } {
  let doc: Doc = typeof raw === 'object' && raw !== null ? { ...(raw as Doc) } : {};
  let version = typeof doc.schemaVersion === 'number' ? doc.schemaVersion : 0;
  while (version < SETTINGS_SCHEMA_VERSION) {
    const step = UPGRADES[version];
    if (!step) break;
    doc = step(doc);
    version = typeof doc.schemaVersion === 'number' ? doc.schemaVersion : version + 1;
  }
  return { schemaVersion: version, config: doc.config ?? null };
}

export class ElectronStoreSettingsStore implements SettingsStore {
  private readonly store = new Store<Doc>({ name: 'settings', clearInvalidConfig: true });
  async load(): Promise<unknown> {
    const upgraded = upgradeSettingsDocument(this.store.store);
    if (upgraded.schemaVersion !== this.store.get('schemaVersion')) this.store.store = { schemaVersion: upgraded.schemaVersion, config: upgraded.config };
    return upgraded.config;
  }
  async save(config: StoredConfig): Promise<void> {
    this.store.store = { schemaVersion: SETTINGS_SCHEMA_VERSION, config };
  }
}
