/**
 * Test support for the core's unit tests (not used by product code): patients and grants, a working patient that
 * is already verified, a temporary work folder, and an image library over the real imaging service and real files.
 */
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { BridgeEvents, MetadataField, Notice } from '../../shared/contracts/bridge';
import type { PatientSummary } from '../../shared/contracts/common';
import type { CommitRequest, CommitResponse, LaunchGrant } from '../../shared/contracts/gateway';
import type { AppError } from '../../shared/errors/app-error';
import type { CommitClient } from '../gateway-client/client';
import { exportDpopKey, generateDpopKey } from '../gateway-client/dpop';
import { createImagingService } from '../imaging';
import type { ImagingService } from '../imaging/types';
import { openOutbox } from '../outbox/outbox';
import type { Outbox } from '../outbox/types';
import { MemorySecretStore, saveDeviceCredentials } from '../secrets';
import { WorkingPatient, type CaptureSession } from '../session';
import { ImageFiles } from './image-files';
import { ImageLibrary } from './image-library';
import { NoticeBoard } from './notices';
import { DeviceAccess } from './device-access';
import type { GatewayFactory, GatewayPort } from './ports';
import { ConfigCell, DEFAULT_SETTINGS, type SettingsStore, type StoredConfig } from './settings';

export const FIXTURES = new URL('../../../shared/fixtures/photos/', import.meta.url).pathname;
export const PHOTO = 'photo-1600-portrait.png';
export const silentLog = pino({ level: 'silent' });
export const T0 = Date.parse('2026-05-01T09:00:00Z');

export const AROHA: PatientSummary = { id: 'pat-1', nhi: 'ZZZ0016', familyName: 'TESTPATIENT', givenName: 'Aroha', birthDate: '1980-02-03', sex: 'female' };
export const WIREMU: PatientSummary = { id: 'pat-2', nhi: 'ZZZ0024', familyName: 'TESTPATIENT', givenName: 'Wiremu', birthDate: '1975-06-07', sex: 'male' };

let grants = 0;
export function grantFor(patient: PatientSummary, now = T0, facilityId = 'F2N060-E'): LaunchGrant {
  grants += 1;
  return { grantId: `grant-${String(grants).padStart(12, '0')}`, facilityId, patient, issuedAt: new Date(now).toISOString(), expiresAt: new Date(now + 3_600_000).toISOString() };
}

/** A working patient whose clock the test moves (`clock.t`). */
export function workingPatient(clock = { t: T0 }): WorkingPatient {
  let n = 0;
  return new WorkingPatient({ now: () => clock.t, newSessionId: () => `cs-${++n}` });
}

/** Verify `patient` as the working patient; answers their capture session. */
export function verify(working: WorkingPatient, patient: PatientSummary): CaptureSession {
  working.verified(working.begin(), grantFor(patient));
  const cur = working.current();
  if (cur === null) throw new Error('no working patient');
  return cur;
}

/** A temporary folder, removed by `cleanup`. */
export async function tempDir(prefix: string, cleanup: (() => Promise<void>)[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A copy of a fixture photo in `dir` (fixtures are read-only). */
export async function photoIn(dir: string, name = PHOTO): Promise<string> {
  const path = join(dir, `in-${Math.random().toString(36).slice(2)}-${name}`);
  await copyFile(join(FIXTURES, name), path);
  return path;
}

export interface LibraryKit {
  library: ImageLibrary;
  files: ImageFiles;
  working: WorkingPatient;
  imaging: ImagingService;
  workDir: string;
  changes: { n: number };
  progress: BridgeEvents['image-progress'][];
  required: MetadataField[];
  /** Notices the library gave. */
  notes: Notice[];
}

/** An image library over the real imaging service and real sealed drafts in a temporary folder. */
export async function libraryKit(cleanup: (() => Promise<void>)[]): Promise<LibraryKit> {
  const workDir = await tempDir('core-lib-', cleanup);
  const imaging = createImagingService({ logger: silentLog });
  cleanup.push(() => imaging.close());
  const files = await ImageFiles.open(workDir, new MemorySecretStore());
  const working = workingPatient();
  const changes = { n: 0 };
  const progress: BridgeEvents['image-progress'][] = [];
  const required: MetadataField[] = ['bodySiteCode'];
  const notes: Notice[] = [];
  let ids = 0;
  const library = new ImageLibrary({
    imaging,
    files,
    working,
    newId: () => `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`,
    iso: () => new Date(T0).toISOString(),
    requiredFields: () => required,
    changed: () => void (changes.n += 1),
    progress: (p) => progress.push(p),
    track: (p) => p,
    notices: new NoticeBoard(() => 'now', (n) => notes.push(n)),
    log: silentLog,
  });
  return { library, files, working, imaging, workDir, changes, progress, required, notes };
}

/** A gateway as the commit tests script it: each commit is refused with `refuse` or stored; verify finds what was stored. */
export class ScriptedCommits implements CommitClient {
  refuse: AppError | null = null;
  readonly sent: CommitRequest[] = [];

  async commit(req: CommitRequest): Promise<CommitResponse> {
    if (this.refuse !== null) throw this.refuse;
    this.sent.push(req);
    return { imageId: req.imageId, media: { resourceType: 'Media', id: `m-${this.sent.length}` }, committedAt: new Date(T0).toISOString(), correlationId: 'corr-test', replayed: false };
  }

  readonly gateway = (): GatewayPort =>
    ({
      verifyCommit: async (imageId: string) => ({ imageId, checkedAt: new Date(T0).toISOString(), media: { present: this.sent.some((r) => r.imageId === imageId) } }),
    }) as unknown as GatewayPort;
}

/** The real durable outbox in a temporary folder, sending through `commits` once started. */
export async function outboxKit(cleanup: (() => Promise<void>)[], commits: CommitClient): Promise<Outbox> {
  const dir = await tempDir('core-outbox-', cleanup);
  const outbox = await openOutbox({ dir, secrets: new MemorySecretStore(), gateway: commits, clock: { now: () => T0 }, random: () => 0.5, logger: silentLog });
  cleanup.push(async () => {
    await outbox.stop();
    await outbox.close();
  });
  return outbox;
}

/** A gateway as the launch and lookup tests script it: the context names the patient; `hold` delays every answer. */
export class ScriptedLaunches {
  /** Context → the patient its launch verifies to. */
  readonly patients = new Map<string, PatientSummary>([
    ['ctx-aroha', AROHA],
    ['ctx-wiremu', WIREMU],
  ]);
  hold: Promise<void> | null = null;
  refuse: AppError | null = null;
  calls = 0;
  confirmAs: PatientSummary | null = null;

  constructor(private readonly now: () => number = () => T0) {}

  private async answer<T>(make: () => T, signal?: AbortSignal): Promise<T> {
    this.calls += 1;
    if (this.hold !== null) await this.hold;
    if (signal?.aborted === true) throw new Error('aborted');
    if (this.refuse !== null) throw this.refuse;
    return make();
  }

  readonly factory: GatewayFactory = () =>
    ({
      verifyLaunch: (req: { context: string }) => this.answer(() => grantFor(this.patients.get(req.context) ?? AROHA, this.now())),
      lookupPatientByNhi: (nhi: string, opts?: { signal?: AbortSignal }) =>
        this.answer(() => ({ ...grantFor([AROHA, WIREMU].find((p) => p.nhi === nhi) ?? AROHA, this.now()), requiresConfirmation: true }), opts?.signal),
      confirmLookup: (_grantId: string, opts?: { signal?: AbortSignal }) => this.answer(() => grantFor(this.confirmAs ?? AROHA, this.now()), opts?.signal),
    }) as unknown as GatewayPort;
}

/** Device access for an enrolled PC with a stored credential and key, over `gateway`. */
export async function enrolledAccess(gateway: GatewayFactory, clock = { t: T0 }): Promise<{ access: DeviceAccess; config: ConfigCell }> {
  const secrets = new MemorySecretStore();
  await saveDeviceCredentials(secrets, { deviceId: `dev_${'0'.repeat(22)}`, deviceSecret: 's'.repeat(43), dpopKey: exportDpopKey(generateDpopKey()) });
  const enrolment = { deviceId: `dev_${'0'.repeat(22)}`, deviceName: 'Room 3', practiceName: 'Kauri Health', facilityId: 'F2N060-E', gatewayUrl: 'http://127.0.0.1:9' };
  const config = new ConfigCell({ settings: { ...DEFAULT_SETTINGS, gatewayUrl: enrolment.gatewayUrl }, enrolment, renewal: null }, new MemorySettingsStore());
  const access = new DeviceAccess({ config, secrets, gateway, clock: { now: () => clock.t }, log: silentLog, track: (p) => p, changed: () => undefined });
  return { access, config };
}

/** Settings kept in memory (the shell keeps them in electron-store). */
export class MemorySettingsStore implements SettingsStore {
  constructor(private value: unknown = null) {}
  async load(): Promise<unknown> {
    return structuredClone(this.value);
  }
  async save(config: StoredConfig): Promise<void> {
    this.value = structuredClone(config);
  }
}
