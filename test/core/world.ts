/**
 * One companion core with every real part that runs here, for the tests in this folder: the real gateway
 * (listening on 127.0.0.1) against the real in-process ALEX sandbox (strict), the real imaging service on copies of
 * the shared fixture photos, the real durable outbox (SQLite) and the real LAN server, all on one injected clock
 * with its timers. Enrolled at the start. Nothing is mocked.
 */
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { AppState, Notice } from '../../shared/contracts/bridge';
import { buildLaunchUrl } from '../../electron/launch/testkit/launch-url';
import { MemorySecretStore } from '../../electron/secrets';
import { startCompanion, type RunningCompanion } from '../../electron/core';
import { MemorySettingsStore } from '../../electron/core/test-support';
import { FACILITY, startHarness, type Harness } from '../gateway/helpers/harness';
import { captureLogger } from '../helpers/capture-logger';
import { ManualTimers } from '../helpers/manual-timers';

const FIXTURES = new URL('../../../shared/fixtures/photos/', import.meta.url).pathname;
export const PHOTOS = ['photo-12mp-orient6.jpg', 'photo-iphone-like.heic', 'photo-1600-portrait.png'];

export interface CoreWorld {
  gw: Harness;
  gatewayUrl: string;
  companion: RunningCompanion;
  dataDir: string;
  /** Copies of PHOTOS, to add as desktop files. */
  inputs: string;
  logs: string[];
  states: AppState[];
  notices: Notice[];
  timers: ManualTimers;
  restart(): Promise<void>;
  /** Launch from "Evolution" for a sandbox patient. */
  launch(nhi: string): ReturnType<RunningCompanion['core']['launch.open']>;
  /** Wait until the outbox and the core's own work (wipe, read-back) are quiet. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

export async function startCoreWorld(): Promise<CoreWorld> {
  const gw = await startHarness();
  const timers = new ManualTimers(gw.clock);
  const gatewayUrl = await gw.app.listen({ host: '127.0.0.1', port: 0 });
  const dataDir = await mkdtemp(join(tmpdir(), 'core-it-'));
  const inputs = await mkdtemp(join(tmpdir(), 'core-it-in-'));
  for (const p of PHOTOS) await copyFile(join(FIXTURES, p), join(inputs, p));
  const logs: string[] = [];
  const logger = captureLogger(logs);
  const secrets = new MemorySecretStore();
  const settingsStore = new MemorySettingsStore();
  const states: AppState[] = [];
  const notices: Notice[] = [];
  const start = async (): Promise<RunningCompanion> => {
    const c = await startCompanion({
      dataDir,
      secrets,
      settingsStore,
      logger,
      clock: { now: () => gw.clock.now() },
      lan: { bindHost: '127.0.0.1', port: 0, sweepIntervalMs: 0 },
      random: () => 0,
      timers,
    });
    c.core.on('state', (s) => states.push(s));
    c.core.on('notice', (n) => notices.push(n));
    return c;
  };
  const w: CoreWorld = {
    gw,
    gatewayUrl,
    companion: await start(),
    dataDir,
    inputs,
    logs,
    states,
    notices,
    timers,
    async restart() {
      await w.companion.close();
      w.companion = await start();
    },
    launch(nhi) {
      const pair = gw.sandbox.issueLaunch({ patientId: gw.patient(nhi).id, facilityCode: FACILITY });
      return w.companion.core['launch.open']({ url: buildLaunchUrl(pair.context, pair.signature) });
    },
    async settle() {
      for (let i = 0; i < 3; i++) {
        await w.companion.outbox.idle();
        await w.companion.core.idle();
      }
    },
    async close() {
      await w.companion.close();
      await gw.close();
      await rm(dataDir, { recursive: true, force: true });
      await rm(inputs, { recursive: true, force: true });
    },
  };
  const { code } = await gw.devices.issueEnrolmentCode(FACILITY, 'Test Practice', 72);
  const enrolled = await w.companion.core['enrolment.enrol']({ gatewayUrl, enrolmentCode: code, deviceName: 'Consult room 3' });
  expect(enrolled).toMatchObject({ enrolled: true, practiceName: 'Test Practice' });
  return w;
}
