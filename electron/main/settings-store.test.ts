/**
 * electron-store for real (a JSON file on disk) behind the settings interface; only `electron` itself is
 * MOCKED (electron-store reads app paths from it; the binary cannot run here).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { readConfig } from '../core/settings';

const userData = mkdtempSync(join(tmpdir(), 'cpi-settings-'));
vi.mock('electron', () => {
  const app = { getPath: () => userData, getVersion: () => '0.1.0' };
  const ipcMain = { on: () => undefined };
  return { default: { app, ipcMain, shell: {} }, app, ipcMain };
});

const { ElectronStoreSettingsStore, upgradeSettingsDocument, SETTINGS_SCHEMA_VERSION } = await import('./settings-store');

afterAll(() => rmSync(userData, { recursive: true, force: true }));

describe('settings in electron-store', () => {
  it('saves and loads the companion configuration in userData, with its schema version', async () => {
    const store = new ElectronStoreSettingsStore();
    const config = readConfig({ settings: { roomLabel: 'Room 3', gatewayUrl: 'https://gw.clinicpro.co.nz' } });
    await store.save(config);
    const onDisk = JSON.parse(readFileSync(join(userData, 'settings.json'), 'utf8')) as { schemaVersion: number };
    expect(onDisk.schemaVersion).toBe(SETTINGS_SCHEMA_VERSION);
    const again = readConfig(await new ElectronStoreSettingsStore().load());
    expect(again.settings.roomLabel).toBe('Room 3');
    expect(again.settings.gatewayUrl).toBe('https://gw.clinicpro.co.nz');
  });

  it('upgrades a pre-release flat file to the current layout and writes the upgrade back', async () => {
    writeFileSync(
      join(userData, 'settings.json'),
      JSON.stringify({ gatewayUrl: 'https://old.example', roomLabel: 'Nurse room', deviceId: 'dev_aaaaaaaaaaaaaaaaaaaaaa', deviceName: 'PC 1', practiceName: 'Old MC', facilityId: 'F2N060-E' }),
    );
    const config = readConfig(await new ElectronStoreSettingsStore().load());
    expect(config.settings.roomLabel).toBe('Nurse room');
    expect(config.enrolment).toMatchObject({ deviceId: 'dev_aaaaaaaaaaaaaaaaaaaaaa', practiceName: 'Old MC', gatewayUrl: 'https://old.example' });
    expect(JSON.parse(readFileSync(join(userData, 'settings.json'), 'utf8'))).toMatchObject({ schemaVersion: 1 });
  });

  it('survives a damaged file: falls back to defaults instead of refusing to start', async () => {
    writeFileSync(join(userData, 'settings.json'), '{ this is not json');
    const config = readConfig(await new ElectronStoreSettingsStore().load());
    expect(config.enrolment).toBeNull();
    expect(config.settings.version).toBe(1);
  });

  it('leaves a document from a newer version as it is', () => {
    expect(upgradeSettingsDocument({ schemaVersion: 9, config: { x: 1 } })).toEqual({ schemaVersion: 9, config: { x: 1 } });
    expect(upgradeSettingsDocument(null)).toEqual({ schemaVersion: 1, config: { settings: {}, enrolment: null } });
  });
});
