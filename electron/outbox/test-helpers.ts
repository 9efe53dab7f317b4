/** Shared set-up for the outbox's own tests (not product code). */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import sharp from 'sharp';
import type { PatientSummary } from '../../shared/contracts/common';
import { createGatewayClient } from '../gateway-client/client';
import { MemorySecretStore } from '../secrets';
import { startGatewayStandIn, type GatewayStandIn } from '../../test/outbox/gateway-stand-in';
import { openOutbox } from './outbox';
import type { OpenOutboxOptions, Outbox, OutboxItemInput } from './types';

export const silent = pino({ level: 'silent' });

export const PATIENT_A: PatientSummary = { id: 'pat-a', nhi: 'ZZZ0016', familyName: 'Canary', givenName: 'Testpatient', birthDate: '1971-02-03', sex: 'female' };
export const PATIENT_B: PatientSummary = { id: 'pat-b', nhi: 'ZZZ0024', familyName: 'Other', givenName: 'Person', birthDate: '1990-12-31', sex: 'male' };
export const GRANT_A = 'grant-aaaaaaaaaaaaaaaa';
export const GRANT_B = 'grant-bbbbbbbbbbbbbbbb';

export class FakeClock {
  constructor(public t = Date.parse('2026-11-23T09:00:00Z')) {}
  now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

/** A real small JPEG whose pixels differ per seed. */
export async function jpeg(seed = 1): Promise<Buffer> {
  return sharp({ create: { width: 32, height: 24, channels: 3, background: { r: seed % 256, g: (seed * 7) % 256, b: (seed * 13) % 256 } } })
    .jpeg()
    .toBuffer();
}
export async function tiff(seed = 1): Promise<Buffer> {
  return sharp({ create: { width: 32, height: 24, channels: 3, background: { r: seed % 256, g: 0, b: 0 } } })
    .tiff()
    .toBuffer();
}

export function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'cpi-outbox-'));
}

export function payloadFiles(dir: string): string[] {
  return readdirSync(join(dir, 'payloads'));
}

export async function item(over: Partial<OutboxItemInput> = {}, seed = 1): Promise<OutboxItemInput> {
  return {
    imageId: randomUUID(),
    patient: PATIENT_A,
    grantId: GRANT_A,
    facilityId: 'F2N060-E',
    capturedAt: '2026-11-23T09:00:00+13:00',
    metadata: { laterality: 'left', caption: 'Canary wound' },
    targets: ['media'],
    media: { contentType: 'image/jpeg', bytes: await jpeg(seed) },
    ...over,
  };
}

export interface Rig {
  dir: string;
  clock: FakeClock;
  secrets: MemorySecretStore;
  standIn: GatewayStandIn;
  outbox: Outbox;
  reopen(extra?: Partial<OpenOutboxOptions>): Promise<Outbox>;
  dispose(): Promise<void>;
}

export async function rig(extra: Partial<OpenOutboxOptions> = {}, standInIn?: GatewayStandIn): Promise<Rig> {
  const dir = tmp();
  const clock = new FakeClock();
  const secrets = new MemorySecretStore();
  const standIn = standInIn ?? (await startGatewayStandIn());
  standIn.grants.set(GRANT_A, { patientId: PATIENT_A.id });
  standIn.grants.set(GRANT_B, { patientId: PATIENT_B.id });
  const gateway = createGatewayClient({
    baseUrl: standIn.url,
    credentials: async () => ({ deviceId: 'dev_abcdefghijklmnopqrstuv', deviceSecret: 's'.repeat(43) }),
    timeoutMs: 5000,
    logger: silent,
  });
  const open = (more: Partial<OpenOutboxOptions> = {}): Promise<Outbox> =>
    openOutbox({ dir, secrets, gateway, clock, random: () => 0.5, logger: silent, ...extra, ...more });
  const r: Rig = {
    dir,
    clock,
    secrets,
    standIn,
    outbox: await open(),
    async reopen(more = {}) {
      await r.outbox.close();
      r.outbox = await open(more);
      return r.outbox;
    },
    async dispose() {
      await r.outbox.close();
      await standIn.close();
    },
  };
  return r;
}

/** Polls a condition (up to 10 s, so a loaded machine does not flake); fails the test if it never holds. */
export async function waitFor(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !cond(); i++) await new Promise((res) => setTimeout(res, 5));
  if (!cond()) throw new Error('condition never became true');
}
