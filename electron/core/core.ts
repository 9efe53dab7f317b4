/**
 * The companion core: implements the bridge (shared/contracts/bridge.ts) over the plain-Node modules.
 *
 *   launch URL ─parse─▶ gateway verify ─▶ working patient (session)
 *   NHI ─▶ gateway lookup ─▶ PENDING candidate ─(GP confirms)─▶ working patient (same rules as a launch)
 *   desktop files / phone uploads ─▶ imaging ingest (thumbnail) ─▶ metadata, edits
 *   commit ─▶ imaging render (JPEG for Media; PDF/TIFF for Inbox Scan) ─▶ outbox.enqueue (its OWN patient + grant)
 *   outbox events ─▶ image statuses; confirmed commit ─▶ local master wiped
 *
 * Patient binding is structural: an image record gets its patient and grant when it is created (from the
 * working session for desktop files, from the capture session named by the LAN upload for phone photos)
 * and nothing later reads "the current patient" to decide where it goes.
 * Logs carry image ids, codes and counts only: never names, NHIs, launch pairs, grants or bytes.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { lstat, readdir, rm } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import type { Logger } from 'pino';
import type {
  AppState,
  BridgeEventName,
  BridgeEvents,
  BridgeHandlers,
  BridgeResponse,
  CommitTargets,
  EnrolmentRenewalReason,
  EnrolmentView,
  ImageEdits,
  ImageMetadataPatch,
  ImageSource,
  ImageStatus,
  ImageView,
  LaunchView,
  MetadataField,
  Notice,
  OutboxItemView as BridgeOutboxItem,
  PendingLookupView,
  PhoneView,
  Settings,
  Unsubscribe,
} from '../../shared/contracts/bridge';
import type { ImageMetadata, PatientSummary } from '../../shared/contracts/common';
import { photoLabelField } from './photo-label';
import { phoneMetadata } from './phone-metadata';
import type { CommitTarget, LaunchGrant } from '../../shared/contracts/gateway';
import { AppError, BugIndicatingError, toAppError, type ErrorBody } from '../../shared/errors/app-error';
import { isErrorCode, type ErrorCode } from '../../shared/errors/codes';
import { LIMITS } from '../../shared/limits';
import { isValidNhi, normaliseNhi } from '../../shared/nhi';
import { exportDpopKey, generateDpopKey, importDpopKey, type DeviceCredentials } from '../gateway-client';
import type { OutboxItemView as OutboxItem, OutboxState } from '../outbox/types';
import { parseLaunchUrl } from '../launch/parse';
import { LaunchOpener, launchRefusedKeepingMessage } from '../launch/open-launch';
import { readDeviceCredentials, saveDeviceCredentials, type SecretStore } from '../secrets';
import { WorkingPatient, patientDisplayName, patientSwitchMessage, type CaptureSession, type LaunchAttempt } from '../session';
import { planTargets, targetNotice } from '../imaging/targets';
import { RenderAhead } from '../imaging/render-ahead';
import { captionText } from './caption';
import { openDraftJournal, type DraftRecord } from './drafts';
import { toImagingEdits } from './edits';
import { MedtechOutcomes, confirmCommitVia } from './unconfirmed';
import { CommitVerifier, type VerifyTimers } from './verify';
import type { Clock, GatewayFactory, GatewayPort, ImagingPort, LanFile, LanPort, LanSink, OutboxPort } from './ports';
import { applySettingsPatch, readConfig, type SettingsStore, type StoredConfig } from './settings';
import { PhotoNumbers } from './photo-numbers';
import { PHONE_DECLINED_MESSAGE } from './phone-messages';
import type { CommitClient } from '../gateway-client';

export interface CompanionCoreDeps {
  clock: Clock;
  logger: Logger;
  /** Folder for working masters (one file per image, named by its id). Created by the caller. */
  workDir: string;
  imaging: ImagingPort;
  secrets: SecretStore;
  settingsStore: SettingsStore;
  gateway: GatewayFactory;
  /** Opens the durable outbox with the core's commit client (which follows the enrolled gateway). */
  openOutbox: (commit: CommitClient) => Promise<OutboxPort>;
  /** Creates the LAN server with the core's upload sink. Absent: phone capture is unavailable. */
  lan?: (sink: LanSink) => Promise<LanPort> | LanPort;
  /** Network self-diagnosis run before a QR code is shown (electron/network-diagnosis). Absent: none. */
  networkCheck?: () => Promise<NonNullable<PhoneView['network']>>;
  /** Image ids (v4 UUID). Default crypto.randomUUID. */
  newId?: () => string;
  /** The loopback launch port, when the http form is enabled. */
  loopbackLaunchPort?: number;
  appVersion?: string;
  platform?: string;
  /** Read Medtech back after each commit ("in Medtech ✓"), until it shows or a bound passes (./verify). Default true. */
  verifyAfterCommit?: boolean;
  /** Timers for those read-backs. Default the system's (unref'd). */
  timers?: VerifyTimers;
}

export interface CompanionCore extends BridgeHandlers {
  on<E extends BridgeEventName>(event: E, listener: (payload: BridgeEvents[E]) => void): Unsubscribe;
  /** The LAN upload sink (also given to deps.lan). */
  readonly lanSink: LanSink;
  /** Resolves when no ingest, render or verify started by the core is still running. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

interface ImageRecord {
  id: string;
  seq: number;
  sessionId: string;
  patient: PatientSummary;
  grant: LaunchGrant;
  source: ImageSource;
  label: string;
  capturedAt: string;
  status: ImageStatus;
  error?: ErrorBody;
  metadata: ImageMetadata;
  edits: ImageEdits;
  master?: { path: string; width: number; height: number };
  thumbnailUrl?: string;
  progress?: number;
  committed?: { media?: { id: string }; documentReference?: { id: string } };
  /** Handed to the outbox: metadata and edits are frozen. */
  inOutbox: boolean;
  /** Being rendered for a commit: frozen too. */
  committing?: boolean;
}

/** A patient found by NHI that the GP has not confirmed yet. Its grant is used for nothing until confirmed. */
interface PendingLookup {
  id: string;
  grant: LaunchGrant;
  /** Epoch ms: the grant's expiry. */
  expiresAt: number;
  /** The GP's "Yes" is with the gateway. */
  confirming?: Promise<LaunchView>;
}

interface PhoneState {
  lanSessionId: string;
  captureSessionId: string;
  patientId: string;
  qr: { url: string; svg: string; pngDataUrl: string; expiresAt: Date };
  phonesJoined: number;
  network: NonNullable<PhoneView['network']>;
}

const NO_EDITS: ImageEdits = { rotate: 0, annotations: [] };

/** Gateway answers that mean THIS PC's enrolment is over: it has to be enrolled again with a new code. */
const RENEWAL_CODES: ReadonlyMap<ErrorCode, EnrolmentRenewalReason> = new Map<ErrorCode, EnrolmentRenewalReason>([
  ['ERR_AUTH_DEVICE_REVOKED', 'revoked'],
  ['ERR_AUTH_DEVICE_UNKNOWN', 'unknown'],
  ['ERR_AUTH_DEVICE_MISSING', 'unknown'],
  ['ERR_AUTH_DEVICE_KEY_REQUIRED', 'key-required'],
]);

/** What practice IT reads on the enrolment screen, per reason. */
const RENEWAL_MESSAGES: Record<EnrolmentRenewalReason, string> = {
  revoked: "This PC's access was withdrawn by your practice's ClinicPro administrator. Enter a new enrolment code to use it again.",
  unknown: 'The ClinicPro gateway no longer recognises this PC. Enter a new enrolment code from your practice IT contact to use it again.',
  'key-required':
    'This PC was enrolled before security keys were used, and the ClinicPro gateway now requires one. Enter a new enrolment code to enrol it again with a key.',
  'credential-unreadable':
    "This PC's saved enrolment could not be read (it may have been damaged or removed from the PC's credential store). Enter a new enrolment code to enrol it again.",
};

/** Outbox errors that say nothing about the image, only that the PC was (re-)enrolling: sent again once it is enrolled. */
const ENROLMENT_WAIT_CODES: ReadonlySet<string> = new Set(['ERR_NOT_ENROLLED', ...RENEWAL_CODES.keys()]);

/** The reason on an outbox item that belongs to another practice than the one this PC is enrolled for. */
const OTHER_PRACTICE_MESSAGE =
  'This photo belongs to the practice this PC was enrolled for before, not the one it is enrolled for now, so it was not sent. It stays on this PC: enrol the PC for its own practice again to send it, or call ClinicPro support.';
const MAX_NOTICES = 20;
const MAX_OUTBOX_VIEW = 200;

function outboxToImageStatus(state: OutboxState): ImageStatus {
  switch (state) {
    case 'queued':
    case 'sending':
      return 'sending';
    case 'waiting':
      return 'waiting';
    case 'failed':
      return 'failed';
    case 'committed':
      return 'committed';
    case 'unconfirmed':
      return 'unconfirmed';
  }
}

function errorBodyOf(item: OutboxItem): ErrorBody | undefined {
  const e = item.lastError;
  if (e === undefined || !isErrorCode(e.code)) return undefined;
  return new AppError(e.code, { message: e.message }).toBody();
}

/** What may be logged of an unexpected error: its kind, never its message (messages can carry file paths). */
function errKind(err: unknown): { errType: string; code?: string } {
  const type = err instanceof Error ? err.name : typeof err;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Z0-9_]{2,40}$/.test(code) ? { errType: type, code } : { errType: type };
}

export async function createCompanionCore(deps: CompanionCoreDeps): Promise<CompanionCore> {
  const log = deps.logger.child({ component: 'core' });
  const newId = deps.newId ?? randomUUID;
  const iso = (ms = deps.clock.now()): string => new Date(ms).toISOString();
  let sessionCounter = 0;
  const working = new WorkingPatient({ now: () => deps.clock.now(), newSessionId: () => `cs-${++sessionCounter}-${newId().slice(0, 8)}` });
  let config: StoredConfig = readConfig(await deps.settingsStore.load());
  const images = new Map<string, ImageRecord>();
  let imageSeq = 0;
  const notices: Notice[] = [];
  let noticeCounter = 0;
  let revision = 0;
  let phone: PhoneState | null = null;
  const listeners = new Map<BridgeEventName, Set<(p: unknown) => void>>();
  const pending = new Set<Promise<unknown>>();
  const unsubscribers: (() => void)[] = [];
  /** The NHI fallback: the candidate waiting for the GP's "Yes, this patient", and the search still running. */
  let pendingLookup: PendingLookup | null = null;
  let lookupSearch: AbortController | null = null;
  /** Launches being verified: while any is, a launch wins over every NHI search. */
  let launchesInFlight = 0;

  // --- gateway ------------------------------------------------------------------------------------------
  /** Rises with every enrolment: an answer to a call made under an earlier enrolment says nothing about this one. */
  let enrolGeneration = 0;
  /** The last stored key that imported, so a key is parsed once, not on every call. */
  let goodKey: string | undefined;
  /**
   * The device credential and its DPoP key, from the OS credential store. An entry that cannot be read — or whose
   * key does not import — while this PC has an enrolment record means the enrolment must be renewed; the gateway
   * client then gets null (ERR_NOT_ENROLLED, nothing sent).
   */
  async function credentials(): Promise<DeviceCredentials | null> {
    const generation = enrolGeneration;
    const read = await readDeviceCredentials(deps.secrets);
    let usable = read.state === 'ok';
    if (read.state === 'ok' && read.credentials.dpopKey !== undefined && read.credentials.dpopKey !== goodKey) {
      try {
        importDpopKey(read.credentials.dpopKey);
        goodKey = read.credentials.dpopKey;
      } catch {
        usable = false;
      }
    }
    if (!usable) {
      if (config.enrolment !== null) needsRenewal('credential-unreadable', generation);
      return null;
    }
    return read.state === 'ok' ? read.credentials : null;
  }
  /**
   * Mark the enrolment as needing renewal (kept across restarts): the desktop shows the enrolment screen with why.
   * Ignored for a PC that is not enrolled, and for an answer to a call made under an earlier enrolment.
   */
  function needsRenewal(reason: EnrolmentRenewalReason, generation: number): void {
    if (config.enrolment === null || generation !== enrolGeneration || config.renewal?.reason === reason) return;
    config = { ...config, renewal: { reason, at: deps.clock.now() } };
    log.warn({ reason }, 'this PC must be enrolled again');
    void track(deps.settingsStore.save(config)).catch((e: unknown) => log.error({ err: toAppError(e).code }, 'could not save the enrolment state'));
    changed();
  }
  /** Every authenticated gateway call passes here: an answer that ends this PC's enrolment marks it for renewal. */
  function watched<T>(call: () => Promise<T>): Promise<T> {
    const generation = enrolGeneration;
    return call().catch((err: unknown) => {
      const reason = err instanceof AppError ? RENEWAL_CODES.get(err.code) : undefined;
      if (reason !== undefined) needsRenewal(reason, generation);
      throw err;
    });
  }
  let gatewayCache: { url: string; client: GatewayPort } | undefined;
  /** The one gateway address: settings.gatewayUrl (enrolment sets it; IT may repoint it later, the credential follows). */
  function gatewayUrl(): string {
    return config.settings.gatewayUrl;
  }
  function gateway(): GatewayPort {
    const url = gatewayUrl();
    if (gatewayCache?.url !== url) {
      const raw = deps.gateway({ baseUrl: url, credentials });
      const client: GatewayPort & Partial<CommitClient> = {
        enrol: (req, opts) => raw.enrol(req, opts),
        verifyLaunch: (req, opts) => watched(() => raw.verifyLaunch(req, opts)),
        lookupPatientByNhi: (nhi, opts) => watched(() => raw.lookupPatientByNhi(nhi, opts)),
        confirmLookup: (grantId, opts) => watched(() => raw.confirmLookup(grantId, opts)),
        verifyCommit: (imageId, opts) => watched(() => raw.verifyCommit(imageId, opts)),
      };
      const rawCommit = (raw as GatewayPort & Partial<CommitClient>).commit;
      if (rawCommit !== undefined) client.commit = (req, opts) => watched(() => rawCommit.call(raw, req, opts));
      const rawConfirm = (raw as Partial<CommitClient>).confirmCommit;
      if (rawConfirm !== undefined) client.confirmCommit = (imageId, opts) => watched(() => rawConfirm.call(raw, imageId, opts));
      gatewayCache = { url, client };
    }
    return gatewayCache.client;
  }
  /** The opened outbox (set once it is open; the client can be called no sooner). */
  const opened: { outbox?: OutboxPort } = {};
  /**
   * The outbox's client: always the enrolled gateway's and the current credential, even after re-enrolment. An
   * item of another practice than the one this PC is enrolled for is never sent (it waits, and says why).
   */
  const commitClient: CommitClient = {
    commit: async (req, opts) => {
      const item = opened.outbox?.get(req.imageId);
      const enrolled = config.enrolment;
      if (item !== undefined && enrolled !== null && item.facilityId !== enrolled.facilityId) {
        throw new AppError('ERR_NOT_ENROLLED', { message: OTHER_PRACTICE_MESSAGE, detail: 'image of another practice' });
      }
      return (gateway() as GatewayPort & CommitClient).commit(req, opts);
    },
    confirmCommit: confirmCommitVia(() => gateway()),
  };

  // --- events -------------------------------------------------------------------------------------------
  function emit<E extends BridgeEventName>(event: E, payload: BridgeEvents[E]): void {
    for (const fn of listeners.get(event) ?? []) {
      try {
        fn(payload);
      } catch (err) {
        log.error({ err: toAppError(err).code }, 'event listener failed');
      }
    }
  }
  function changed(): void {
    revision += 1;
    if ((listeners.get('state')?.size ?? 0) > 0) emit('state', snapshot());
  }
  function notify(kind: Notice['kind'], level: Notice['level'], message: string, patientId?: string): void {
    const n: Notice = { id: `n${++noticeCounter}`, kind, level, message, at: iso() };
    if (patientId !== undefined) n.patientId = patientId;
    notices.push(n);
    if (notices.length > MAX_NOTICES) notices.shift();
    emit('notice', n);
  }
  function track<T>(p: Promise<T>): Promise<T> {
    pending.add(p);
    void p.finally(() => pending.delete(p)).catch(() => undefined);
    return p;
  }

  // --- views --------------------------------------------------------------------------------------------
  function missingFields(rec: ImageRecord): MetadataField[] {
    return config.settings.requiredFields.filter((f) => {
      const v = rec.metadata[f];
      return v === undefined || (typeof v === 'string' && v.trim() === '');
    });
  }
  function refreshDraftStatus(rec: ImageRecord): void {
    if (rec.inOutbox || rec.status === 'processing') return;
    rec.status = missingFields(rec).length > 0 ? 'needs-info' : 'ready';
  }
  function imageView(rec: ImageRecord): ImageView {
    const workingId = working.current()?.patient.id;
    const v: ImageView = {
      id: rec.id,
      patientId: rec.patient.id,
      patient: rec.patient,
      isWorkingPatient: workingId === rec.patient.id,
      source: rec.source,
      label: rec.label,
      capturedAt: rec.capturedAt,
      status: rec.status,
      metadata: rec.metadata,
      missingFields: rec.inOutbox ? [] : missingFields(rec),
      edits: rec.edits,
    };
    if (rec.thumbnailUrl !== undefined) v.thumbnailUrl = rec.thumbnailUrl;
    if (rec.master !== undefined) {
      const turned = rec.edits.rotate === 90 || rec.edits.rotate === 270;
      v.width = turned ? rec.master.height : rec.master.width;
      v.height = turned ? rec.master.width : rec.master.height;
    }
    if (rec.error !== undefined) v.error = rec.error;
    if (rec.progress !== undefined) v.progress = rec.progress;
    if (rec.committed !== undefined) v.committed = rec.committed;
    outcomes.decorateImage(v);
    verifier.decorateImage(v);
    return v;
  }
  function outboxView(item: OutboxItem): BridgeOutboxItem {
    const targets: CommitTargets = { media: item.targets.includes('media'), inboxScan: item.targets.includes('documentReference') };
    const v: BridgeOutboxItem = {
      imageId: item.imageId,
      patientId: item.patientId,
      targets,
      status: item.state,
      attempts: item.attempts,
      updatedAt: item.updatedAt,
    };
    if (item.patient !== undefined) v.patient = item.patient;
    if (item.nhi !== undefined) v.nhi = item.nhi;
    if (item.nextAttemptAt !== undefined) v.nextAttemptAt = item.nextAttemptAt;
    const err = errorBodyOf(item);
    if (err !== undefined) v.error = err;
    if (item.committed !== undefined) {
      v.committed = {};
      if (item.committed.media) v.committed.media = { id: item.committed.media.id };
      if (item.committed.documentReference) v.committed.documentReference = { id: item.committed.documentReference.id };
    }
    outcomes.decorateOutbox(v, item);
    return v;
  }
  function phoneView(): PhoneView | null {
    if (phone === null) return null;
    return {
      active: true,
      patientId: phone.patientId,
      qrSvg: phone.qr.svg,
      qrUrl: phone.qr.url,
      qrPngDataUrl: phone.qr.pngDataUrl,
      expiresAt: phone.qr.expiresAt.toISOString(),
      phonesJoined: phone.phonesJoined,
      network: phone.network,
    };
  }
  function lookupView(p: PendingLookup): PendingLookupView {
    return { lookupId: p.id, patient: p.grant.patient, expiresAt: iso(p.expiresAt) };
  }
  function enrolmentView(): EnrolmentView {
    const e = config.enrolment;
    if (e === null) return { enrolled: false, gatewayUrl: gatewayUrl() };
    const view: EnrolmentView = { enrolled: true, practiceName: e.practiceName, deviceName: e.deviceName, gatewayUrl: gatewayUrl() };
    const r = config.renewal;
    if (r !== null && r !== undefined) {
      view.enrolled = false;
      view.renewal = { reason: r.reason, message: RENEWAL_MESSAGES[r.reason], since: iso(r.at) };
    }
    return view;
  }
  function snapshot(): AppState {
    const cur = working.current();
    const state: AppState = {
      revision,
      enrolment: enrolmentView(),
      launch: working.view(),
      patient: cur?.patient ?? null,
      captureSession: cur === null ? null : { id: cur.id, patientId: cur.patient.id, startedAt: iso(cur.startedAt) },
      images: [...images.values()].map(imageView),
      phone: phoneView(),
      outbox: outbox.list().slice(-MAX_OUTBOX_VIEW).map(outboxView),
      notices: [...notices],
    };
    if (pendingLookup !== null && pendingLookup.expiresAt > deps.clock.now()) state.pendingLookup = lookupView(pendingLookup);
    return state;
  }

  // --- images -------------------------------------------------------------------------------------------
  function requireWorking(): CaptureSession {
    const cur = working.current();
    if (cur === null) throw new AppError('ERR_NO_PATIENT');
    return cur;
  }
  function getImage(id: string): ImageRecord {
    const rec = images.get(id);
    if (rec === undefined) throw new AppError('ERR_NOT_FOUND', { detail: 'image' });
    return rec;
  }
  const frozen = (rec: ImageRecord): boolean => rec.inOutbox || rec.committing === true;
  function requireDraft(rec: ImageRecord): void {
    if (frozen(rec)) throw new AppError('ERR_IMAGE_LOCKED');
  }
  // Renders started once a photo is ready, for the targets of the last Send (both before one), taken at Send.
  const ahead = new RenderAhead((p, e, o) => track(deps.imaging.render(p, e, o)));
  let aheadTargets: CommitTargets = { media: true, inboxScan: true };
  async function removeImageFiles(id: string): Promise<void> {
    ahead.forgetImage(id);
    // Only our own names: `<id>.*` in the work folder (the imaging service names masters after the id).
    const entries = await readdir(deps.workDir).catch(() => [] as string[]);
    await Promise.all(entries.filter((n) => n.startsWith(`${id}.`)).map((n) => rm(join(deps.workDir, n), { force: true })));
  }

  const drafts = await openDraftJournal(deps.workDir, deps.secrets);
  /** Make the record durable (sealed draft next to the master). Before this resolves, nothing is acknowledged. */
  async function persist(rec: ImageRecord): Promise<void> {
    if (rec.master === undefined || rec.thumbnailUrl === undefined || rec.status === 'committed') return;
    const d: DraftRecord = {
      v: 1,
      id: rec.id,
      seq: rec.seq,
      sessionId: rec.sessionId,
      patient: rec.patient,
      grant: rec.grant,
      source: rec.source,
      label: rec.label,
      capturedAt: rec.capturedAt,
      metadata: rec.metadata,
      edits: rec.edits,
      master: rec.master,
      thumbnailUrl: rec.thumbnailUrl,
    };
    try {
      await drafts.save(d);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      throw new AppError(code === 'ENOSPC' ? 'ERR_STORAGE_FULL' : 'ERR_STORAGE_IO', { cause: err });
    }
  }

  function newRecord(session: CaptureSession, source: ImageSource, label: string, metadata: ImageMetadata): ImageRecord {
    const grant = working.grantFor(session.patient.id) ?? session.grant;
    // A grant from an NHI search reaches a session only once the GP confirmed it (and loses the flag then).
    if (grant.requiresConfirmation === true) throw new BugIndicatingError('unconfirmed grant bound to an image');
    const rec: ImageRecord = {
      id: newId(),
      seq: ++imageSeq,
      sessionId: session.id,
      patient: session.patient,
      grant,
      source,
      label: label.slice(0, 255),
      capturedAt: iso(),
      status: 'processing',
      metadata,
      edits: NO_EDITS,
      inOutbox: false,
    };
    images.set(rec.id, rec);
    return rec;
  }

  /** Ingest one input into a new record; on failure the record and any file of it are gone and the error is thrown. */
  async function ingestInto(rec: ImageRecord, input: { path: string } | { buffer: Buffer }): Promise<boolean> {
    changed();
    try {
      const onThumbnail = (t: Buffer, mime: string): void => {
        if (!images.has(rec.id) || rec.master !== undefined) return; // first sight, before the master is written
        rec.thumbnailUrl = `data:${mime};base64,${t.toString('base64')}`;
        changed();
      };
      const res = await track(deps.imaging.ingest(input, { dir: deps.workDir, id: rec.id }, { onThumbnail }));
      if (!images.has(rec.id)) {
        await removeImageFiles(rec.id); // removed while processing
        return false;
      }
      rec.master = { path: res.masterPath, width: res.width, height: res.height };
      rec.thumbnailUrl = `data:${res.thumbnailMime};base64,${res.thumbnail.toString('base64')}`;
      rec.status = 'needs-info';
      refreshDraftStatus(rec);
      if (missingFields(rec).length === 0) ahead.warmTargets(res.masterPath, toImagingEdits(rec.edits, res.width, res.height), aheadTargets, config.settings.inboxScanFormat, config.settings.maxAttachmentBytes);
      const targetsNote = targetNotice(res.masterPath); // e.g. a PDF: Inbox Scan only, told at once
      if (targetsNote !== null) notify('info', 'info', targetsNote, rec.patient.id);
      await persist(rec);
      emit('image-progress', { imageId: rec.id, phase: 'ingest', fraction: 1 });
      changed();
      return true;
    } catch (err) {
      images.delete(rec.id);
      await removeImageFiles(rec.id);
      changed();
      throw toAppError(err);
    }
  }

  async function addInputs(
    inputs: { name: string; load: () => Promise<{ path: string } | { buffer: Buffer }> }[],
  ): Promise<BridgeResponse<'images.addFiles'>> {
    const session = requireWorking();
    // Records are created in input order (so the list shows files in the order they were given); ingest runs in parallel.
    const slots = inputs.map(() => ({ id: undefined as string | undefined, error: undefined as ErrorBody | undefined }));
    const loaded = await Promise.all(inputs.map((inp) => inp.load().then((input) => ({ input }), (err: unknown) => ({ err }))));
    await Promise.all(
      loaded.map(async (l, i) => {
        const slot = slots[i] as { id: string | undefined; error: ErrorBody | undefined };
        const name = (inputs[i] as { name: string }).name;
        try {
          if ('err' in l) throw l.err;
          const rec = newRecord(session, 'desktop', name, {});
          if (await ingestInto(rec, l.input)) slot.id = rec.id;
        } catch (err) {
          const e = toAppError(err);
          if (e.code === 'ERR_INTERNAL') log.error(errKind(e.cause ?? err), 'ingest failed unexpectedly');
          slot.error = e.toBody();
        }
      }),
    );
    const imageIds = slots.flatMap((s) => (s.id === undefined ? [] : [s.id]));
    const rejected = slots.flatMap((s, i) => (s.error === undefined ? [] : [{ name: (inputs[i] as { name: string }).name, error: s.error }]));
    if (rejected.length > 0) {
      notify('images-rejected', 'warning', rejected.length === 1 ? `1 file could not be added: ${rejected[0]?.error.message}` : `${rejected.length} files could not be added.`);
    }
    log.info({ added: imageIds.length, rejected: rejected.length }, 'images added');
    return { imageIds, rejected };
  }

  function applyPatch(rec: ImageRecord, patch: ImageMetadataPatch): void {
    const next: Record<string, unknown> = { ...rec.metadata };
    for (const [k, v] of Object.entries(patch)) {
      if (v === null) delete next[k];
      else if (v !== undefined) next[k] = v;
    }
    rec.metadata = next as ImageMetadata;
    refreshDraftStatus(rec);
  }

  // --- phone --------------------------------------------------------------------------------------------
  const photoNumbers = new PhotoNumbers();
  const lanSink: LanSink = {
    numberPhotos: (sessionRef, count) => photoNumbers.take(sessionRef, count),
    async onFile(file: LanFile) {
      const session = working.session(file.sessionRef);
      if (session === undefined) throw new AppError('ERR_LAN_SESSION_ENDED');
      const rec = newRecord(session, 'phone', photoNumbers.label(session.id, file.photoNumber), phoneMetadata(file.metadata));
      try {
        await ingestInto(rec, file.open ? { buffer: await file.open() } : { path: file.path });
      } finally {
        await rm(file.path, { force: true }); // we own it; the master is our copy
      }
      log.info({ imageId: rec.id, bytes: file.bytes }, 'phone photo received');
      return { imageId: rec.id };
    },
  };
  const lan = deps.lan === undefined ? undefined : await deps.lan(lanSink);
  if (lan !== undefined) {
    lan.on('phone-joined', (e) => {
      if (phone?.lanSessionId === e.sessionId) {
        phone.phonesJoined += 1;
        changed();
      }
    });
    lan.on('phone-declined', (e) => {
      if (phone?.lanSessionId !== e.sessionId) return;
      notify('info', 'warning', PHONE_DECLINED_MESSAGE);
      changed();
    });
    lan.on('qr-rotated', (e) => {
      if (phone?.lanSessionId === e.sessionId) {
        phone.qr = e.qr;
        changed();
      }
    });
    lan.on('session-ended', (e) => {
      if (phone?.lanSessionId === e.sessionId) {
        phone = null;
        if (e.reason === 'idle') notify('phone-session-ended', 'info', 'The phone upload session ended after a quiet spell. Start it again to add more photos.');
        changed();
      }
    });
  }
  async function endPhone(reason: 'ended' | 'patient-changed' | 'committed'): Promise<void> {
    if (phone === null || lan === undefined) return;
    const id = phone.lanSessionId;
    phone = null;
    await lan.endSession(id, reason);
  }

  // --- outbox -------------------------------------------------------------------------------------------
  const outbox = await deps.openOutbox(commitClient);
  opened.outbox = outbox;
  const outcomes = new MedtechOutcomes({ outbox, logger: log, notify, changed });
  const verifier = new CommitVerifier({ read: (id) => gateway().verifyCommit(id), changed, logger: log, track, ...(deps.timers ? { timers: deps.timers } : {}) });
  function onOutbox(item: OutboxItem): void {
    const rec = images.get(item.imageId);
    if (rec === undefined) {
      changed();
      return;
    }
    const previous = rec.status;
    rec.status = outboxToImageStatus(item.state);
    outcomes.observe(item, rec, previous);
    const err = errorBodyOf(item);
    if (item.state === 'waiting' || item.state === 'failed') {
      if (err !== undefined) rec.error = err;
      if (item.state === 'failed' && previous !== 'failed') {
        notify('commit-failed', 'error', `An image for ${patientDisplayName(rec.patient)} was not sent: ${err?.message ?? 'unknown reason'}`, rec.patient.id);
      }
    } else delete rec.error;
    if (item.state === 'committed') {
      rec.committed = {};
      if (item.committed?.media) rec.committed.media = { id: item.committed.media.id };
      if (item.committed?.documentReference) rec.committed.documentReference = { id: item.committed.documentReference.id };
      delete rec.progress;
      const master = rec.master;
      delete rec.master;
      void track(removeImageFiles(rec.id)).catch((e: unknown) => log.warn({ imageId: rec.id, err: toAppError(e).code }, 'could not wipe master'));
      if (master !== undefined) log.info({ imageId: rec.id }, 'committed; local copy wiped');
      if (deps.verifyAfterCommit !== false) verifier.start(rec.id);
    }
    changed();
  }
  for (const ev of ['item-queued', 'item-sending', 'item-waiting', 'item-failed', 'item-committed', 'item-unconfirmed'] as const) {
    unsubscribers.push(outbox.on(ev, onOutbox));
  }

  // --- recovery: images that were on screen when the companion stopped ----------------------------------
  {
    const { drafts: found, unreadable } = await drafts.recover();
    for (const d of found.sort((a, b) => a.seq - b.seq)) {
      imageSeq = Math.max(imageSeq, d.seq);
      const item = outbox.get(d.id);
      if (item?.state === 'committed') {
        await removeImageFiles(d.id);
        continue;
      }
      const rec: ImageRecord = { ...d, status: 'needs-info', inOutbox: item !== undefined };
      images.set(rec.id, rec);
      if (item !== undefined) onOutbox(item);
      else refreshDraftStatus(rec);
    }
    if (unreadable.length > 0) {
      log.error({ count: unreadable.length }, 'some saved images could not be read');
      notify('info', 'error', `${unreadable.length} saved image${unreadable.length === 1 ? '' : 's'} could not be read back on this PC. Call support.`);
    }
    if (found.length > 0) log.info({ restored: images.size }, 'images restored');
  }

  async function renderAndEnqueue(rec: ImageRecord, targets: CommitTargets, captionStrip: boolean): Promise<void> {
    const master = rec.master;
    if (master === undefined) throw new AppError('ERR_NOT_FOUND', { detail: 'image file' });
    const settings = config.settings;
    const caption = captionStrip ? captionText(rec.metadata, rec.capturedAt) : undefined;
    const grant = working.grantFor(rec.patient.id) ?? rec.grant;
    rec.grant = grant;
    rec.status = 'sending';
    rec.progress = 0;
    changed();
    const plan = planTargets(master.path, targets, settings.inboxScanFormat); // a PDF goes to the Inbox Scan only
    const outTargets: CommitTarget[] = [];
    let media: { bytes: Buffer; contentType: 'image/jpeg' | 'image/png'; width: number; height: number } | undefined;
    let document: { bytes: Buffer; contentType: 'image/tiff' | 'application/pdf' } | undefined;
    // Both targets render together (the imaging service's limiter spreads them over the cores).
    const renderAs = (format: 'jpeg' | typeof plan.inboxScanFormat) => ahead.take(master.path, toImagingEdits(rec.edits, master.width, master.height, caption), { format, maxBytes: settings.maxAttachmentBytes });
    const [m, d] = await Promise.all([plan.media ? renderAs('jpeg') : undefined, plan.inboxScan ? renderAs(plan.inboxScanFormat) : undefined]);
    if (m !== undefined) {
      media = { bytes: m.data, contentType: m.contentType === 'image/png' ? 'image/png' : 'image/jpeg', width: m.width, height: m.height };
      outTargets.push('media');
    }
    if (d !== undefined) {
      document = { bytes: d.data, contentType: d.contentType === 'image/tiff' ? 'image/tiff' : 'application/pdf' };
      outTargets.push('documentReference');
    }
    emit('image-progress', { imageId: rec.id, phase: 'render', fraction: 1 });
    const source = rec.source === 'phone' ? `Phone upload, ${settings.roomLabel}` : `Desktop, ${settings.roomLabel}`;
    await outbox.enqueue({
      imageId: rec.id,
      patient: rec.patient,
      grantId: grant.grantId,
      facilityId: grant.facilityId,
      capturedAt: rec.capturedAt,
      metadata: rec.metadata,
      targets: outTargets,
      ...(media === undefined ? {} : { media }),
      ...(document === undefined ? {} : { document }),
      source: source.slice(0, 100),
      ...photoLabelField(rec.label),
    });
    rec.inOutbox = true;
    const item = outbox.get(rec.id);
    if (item !== undefined) onOutbox(item);
  }

  async function idle(): Promise<void> {
    while (pending.size > 0) await Promise.allSettled([...pending]);
  }

  // --- launch and the NHI fallback ----------------------------------------------------------------------
  /** End the NHI search: forget the candidate, abort a search still running. True when there was one. */
  function endLookup(reason: 'launch' | 'replaced' | 'cancelled' | 'closed'): boolean {
    const had = pendingLookup !== null || lookupSearch !== null;
    lookupSearch?.abort();
    lookupSearch = null;
    if (pendingLookup !== null) log.info({ reason }, 'patient search closed');
    pendingLookup = null;
    return had;
  }

  /** A verified grant (a launch, or an NHI search the GP confirmed) becomes the working patient. */
  async function applyVerified(attempt: LaunchAttempt, grant: LaunchGrant): Promise<void> {
    const outcome = working.verified(attempt, grant);
    switch (outcome.kind) {
      case 'stale':
        break;
      case 'started': {
        // Photos of this patient still waiting for a grant (after a restart or a re-enrolment) get this one.
        const n = outbox.rebindGrant(grant.patient.id, grant.grantId);
        log.info({ session: outcome.session.id, rebound: n }, 'patient session started');
        break;
      }
      case 'same-patient': {
        for (const rec of images.values()) if (rec.patient.id === grant.patient.id) rec.grant = grant;
        const n = outbox.rebindGrant(grant.patient.id, grant.grantId);
        log.info({ session: outcome.session.id, rebound: n }, 'same patient relaunched');
        break;
      }
      case 'switched': {
        outbox.rebindGrant(grant.patient.id, grant.grantId);
        if (phone !== null && phone.captureSessionId === outcome.previous.id) {
          await endPhone('patient-changed').catch((e: unknown) => log.warn({ err: toAppError(e).code }, 'could not end phone session'));
        }
        const staying = [...images.values()].filter((r) => r.patient.id === outcome.previous.patient.id && r.status !== 'committed').length;
        notify('patient-switched', staying > 0 ? 'warning' : 'info', patientSwitchMessage(outcome.previous.patient, outcome.session.patient, staying), outcome.previous.patient.id);
        log.info({ session: outcome.session.id, staying }, 'patient switched');
        break;
      }
    }
  }

  /**
   * The GP said "Yes, this patient": the gateway confirms the lookup's grant (until then it refuses every use of
   * it), and only the grant it answers — confirmed, with its new expiry — becomes the working patient's.
   * A launch, a cancel or a new search meanwhile wins (ERR_REQUEST_CANCELLED, nothing changes). A refusal leaves no
   * working patient for the candidate: a final one (ended, expired, not enrolled…) ends the search, a passing one
   * (gateway unreachable) keeps the candidate so the GP can say "Yes" again (confirming twice is safe).
   */
  async function confirmLookup(p: PendingLookup): Promise<LaunchView> {
    const call = new AbortController();
    lookupSearch = call;
    let grant: LaunchGrant;
    try {
      grant = await gateway().confirmLookup(p.grant.grantId, { signal: call.signal });
    } catch (err) {
      const e = toAppError(err);
      if (call.signal.aborted) throw new AppError('ERR_REQUEST_CANCELLED', { cause: err });
      log.warn({ code: e.code, correlationId: e.correlationId }, 'patient confirmation refused');
      if (!e.retryable && pendingLookup === p) {
        pendingLookup = null;
        changed();
      }
      throw e;
    } finally {
      if (lookupSearch === call) lookupSearch = null;
    }
    if (call.signal.aborted || pendingLookup !== p || launchesInFlight > 0) throw new AppError('ERR_REQUEST_CANCELLED');
    pendingLookup = null;
    if (grant.patient.id !== p.grant.patient.id) {
      changed();
      throw new AppError('ERR_INTERNAL', { detail: 'the gateway confirmed another patient' });
    }
    // Confirmed by the GP and the gateway: from here on it is a grant like any verified launch's.
    const attempt = working.begin();
    await applyVerified(attempt, grant);
    log.info({ session: working.current()?.id }, 'patient confirmed from an NHI search');
    changed();
    return working.view();
  }

  // Parse → verify → only then the working patient changes; a refused launch leaves the patient on screen (../launch/open-launch).
  const launches = new LaunchOpener({
    working,
    parse: (url) => parseLaunchUrl(url, deps.loopbackLaunchPort === undefined ? {} : { loopbackPort: deps.loopbackLaunchPort }),
    enrolled: async () => config.enrolment !== null && (await credentials()) !== null,
    verify: (ticket) => gateway().verifyLaunch({ context: ticket.context, signature: ticket.signature }),
    apply: applyVerified,
    refusedKeeping: (kept, error) => notify('info', 'warning', launchRefusedKeepingMessage(patientDisplayName(kept), error), kept.id),
    changed,
    log,
  });
  const openLaunch = (url: string): Promise<LaunchView> => launches.open(url);

  /**
   * After an enrolment: photos of this practice that waited for it are sent now (with the new credential); photos of
   * another practice stay on this PC, unsent, and the GP is told so.
   */
  function resumeOutbox(facilityId: string, previous: StoredConfig['enrolment']): void {
    let resumed = 0;
    let held = 0;
    for (const item of outbox.list()) {
      if (item.state === 'committed') continue;
      if (item.facilityId !== facilityId) {
        held += 1;
        continue;
      }
      if ((item.state === 'waiting' || item.state === 'failed') && item.lastError !== undefined && ENROLMENT_WAIT_CODES.has(item.lastError.code) && outbox.retry(item.imageId)) resumed += 1;
    }
    if (resumed > 0 || held > 0) log.info({ resumed, held }, 'outbox after enrolment');
    if (held > 0) {
      const whose = previous !== null && previous.facilityId !== facilityId ? previous.practiceName : 'the practice this PC was enrolled for before';
      notify(
        'info',
        'warning',
        `${held} photo${held === 1 ? '' : 's'} waiting to be sent belong${held === 1 ? 's' : ''} to ${whose}, not the practice this PC is now enrolled for, so ${held === 1 ? 'it' : 'they'} will not be sent there. ${held === 1 ? 'It stays' : 'They stay'} on this PC: enrol the PC for ${whose} again to send ${held === 1 ? 'it' : 'them'}, or call ClinicPro support.`,
      );
    }
  }

  // --- the bridge handlers ------------------------------------------------------------------------------
  const handlers: BridgeHandlers = {
    'app.getState': async () => snapshot(),

    'enrolment.enrol': async ({ gatewayUrl, enrolmentCode, deviceName }) => {
      const url = gatewayUrl.replace(/\/+$/, '');
      const client = deps.gateway({ baseUrl: url, credentials: async () => null });
      // A new key pair for every enrolment: the gateway keeps the public key's thumbprint, and from then on every
      // call carries a proof signed with the private key, which never leaves this PC (DPoP, RFC 9449).
      const key = generateDpopKey();
      const res = await client.enrol({
        enrolmentCode,
        deviceName,
        ...(deps.platform === undefined ? {} : { platform: deps.platform }),
        ...(deps.appVersion === undefined ? {} : { appVersion: deps.appVersion }),
        dpopJwk: key.publicJwk,
      });
      // The secret and the private key go to the OS credential store together, in one entry.
      await saveDeviceCredentials(deps.secrets, { deviceId: res.deviceId, deviceSecret: res.deviceSecret, dpopKey: exportDpopKey(key) });
      const previous = config.enrolment;
      enrolGeneration += 1;
      config = {
        settings: { ...config.settings, gatewayUrl: url },
        enrolment: { deviceId: res.deviceId, deviceName, practiceName: res.practiceName, facilityId: res.facilityId, gatewayUrl: url },
        renewal: null,
      };
      await deps.settingsStore.save(config);
      gatewayCache = undefined;
      log.info({ deviceId: res.deviceId, again: previous !== null }, 'enrolled');
      resumeOutbox(res.facilityId, previous);
      changed();
      return { enrolled: true, practiceName: res.practiceName, deviceName, gatewayUrl: url };
    },

    'launch.open': async ({ url }) => {
      // A launch from Evolution always wins over an NHI search: the candidate and any running search end now.
      endLookup('launch');
      launchesInFlight += 1;
      try {
        return await openLaunch(url);
      } finally {
        launchesInFlight -= 1;
      }
    },

    'patient.lookup': async ({ nhi }) => {
      // A new search replaces the previous candidate (and stops a search still running).
      if (endLookup('replaced')) changed();
      const value = normaliseNhi(nhi.replace(/\s+/g, ''));
      if (!isValidNhi(value)) throw new AppError('ERR_LOOKUP_NHI_INVALID');
      if (config.enrolment === null || (await credentials()) === null) throw new AppError('ERR_NOT_ENROLLED');
      if (launchesInFlight > 0) throw new AppError('ERR_REQUEST_CANCELLED', { detail: 'a launch is being checked' });
      const search = new AbortController();
      lookupSearch = search;
      let grant: LaunchGrant;
      try {
        grant = await gateway().lookupPatientByNhi(value, { signal: search.signal });
      } catch (err) {
        const e = toAppError(err);
        if (search.signal.aborted) throw new AppError('ERR_REQUEST_CANCELLED', { cause: err });
        log.warn({ code: e.code, correlationId: e.correlationId }, 'patient search refused');
        throw e;
      } finally {
        if (lookupSearch === search) lookupSearch = null;
      }
      // Cancelled, replaced or overtaken by a launch while the answer was on its way: it shows nothing.
      if (search.signal.aborted || launchesInFlight > 0) throw new AppError('ERR_REQUEST_CANCELLED');
      const expiresAt = Date.parse(grant.expiresAt);
      if (!(expiresAt > deps.clock.now())) throw new AppError('ERR_LOOKUP_EXPIRED');
      pendingLookup = { id: `lk_${randomBytes(16).toString('base64url')}`, grant, expiresAt };
      log.info('patient found by NHI; waiting for the GP to confirm');
      changed();
      return lookupView(pendingLookup);
    },

    'patient.confirm': async ({ lookupId }) => {
      const p = pendingLookup;
      if (p === null || p.id !== lookupId) throw new AppError('ERR_LOOKUP_ENDED');
      // A second "Yes" while the first is still with the gateway gets the same answer.
      if (p.confirming !== undefined) return p.confirming;
      if (p.expiresAt <= deps.clock.now()) {
        pendingLookup = null;
        log.info('patient search expired before it was confirmed');
        changed();
        throw new AppError('ERR_LOOKUP_EXPIRED');
      }
      const confirming = confirmLookup(p);
      p.confirming = confirming;
      try {
        return await confirming;
      } finally {
        p.confirming = undefined;
      }
    },

    'patient.cancelLookup': async () => {
      if (endLookup('cancelled')) changed();
      return { ok: true };
    },

    'images.addFiles': async ({ files }) => {
      requireWorking();
      return addInputs(
        files.map((f) => ({
          name: f.name,
          load: async () => {
            const buffer = Buffer.from(f.dataBase64, 'base64');
            if (buffer.length > LIMITS.maxUploadFileBytes) throw new AppError('ERR_IMAGE_FILE_TOO_LARGE');
            if (buffer.length === 0) throw new AppError('ERR_IMAGE_UNSUPPORTED');
            return { buffer };
          },
        })),
      );
    },

    'images.addPaths': async ({ paths }) => {
      requireWorking();
      return addInputs(
        paths.map((p) => ({
          name: p.split(/[\\/]/).pop() ?? 'file',
          load: async () => {
            if (!isAbsolute(p)) throw new AppError('ERR_IMAGE_UNSUPPORTED', { detail: 'not a file' });
            const st = await lstat(p).catch(() => undefined);
            if (st === undefined || !st.isFile()) throw new AppError('ERR_IMAGE_UNSUPPORTED', { detail: 'not a file' });
            if (st.size > LIMITS.maxUploadFileBytes) throw new AppError('ERR_IMAGE_FILE_TOO_LARGE');
            return { path: p };
          },
        })),
      );
    },

    'images.updateMetadata': async ({ ids, patch }) => {
      const recs = ids.map(getImage);
      const updated: string[] = [];
      for (const rec of recs) {
        if (frozen(rec)) continue;
        applyPatch(rec, patch);
        await persist(rec);
        updated.push(rec.id);
      }
      changed();
      return { updated };
    },

    'images.applyMetadataToAll': async ({ patch }) => {
      const cur = requireWorking();
      const updated: string[] = [];
      for (const rec of images.values()) {
        if (frozen(rec) || rec.patient.id !== cur.patient.id) continue;
        applyPatch(rec, patch);
        await persist(rec);
        updated.push(rec.id);
      }
      changed();
      return { updated };
    },

    'images.edit': async ({ id, edits }) => {
      const rec = getImage(id);
      requireDraft(rec);
      if (rec.master === undefined) throw new AppError('ERR_NOT_FOUND', { detail: 'image file' });
      // Check the edits convert to something the renderer accepts before keeping them.
      toImagingEdits(edits, rec.master.width, rec.master.height);
      const before = rec.edits;
      rec.edits = edits;
      try {
        await persist(rec);
      } catch (err) {
        rec.edits = before;
        throw err;
      }
      changed();
      return imageView(rec);
    },

    'images.remove': async ({ ids }) => {
      const recs = ids.map(getImage);
      for (const rec of recs) requireDraft(rec);
      for (const rec of recs) {
        images.delete(rec.id);
        await removeImageFiles(rec.id);
      }
      changed();
      return { removed: recs.map((r) => r.id) };
    },

    'images.preview': async ({ id }) => {
      const rec = getImage(id);
      if (rec.master === undefined) throw new AppError('ERR_NOT_FOUND', { detail: 'image file' });
      const r = await track(deps.imaging.render(rec.master.path, toImagingEdits(rec.edits, rec.master.width, rec.master.height), { format: 'jpeg', maxBytes: 3_000_000 }));
      return { dataUrl: `data:${r.contentType};base64,${r.data.toString('base64')}`, width: r.width, height: r.height };
    },

    'phone.start': async () => {
      const cur = requireWorking();
      if (lan === undefined) throw new AppError('ERR_INTERNAL', { detail: 'phone capture unavailable' });
      if (phone !== null && phone.captureSessionId === cur.id) return phoneView() as PhoneView;
      if (phone !== null) await endPhone('ended');
      const opened = await lan.openSession({
        sessionRef: cur.id,
        patient: { displayName: patientDisplayName(cur.patient), birthDate: cur.patient.birthDate },
        roomLabel: config.settings.roomLabel,
      });
      const network = deps.networkCheck === undefined ? [] : await deps.networkCheck().catch(() => []);
      phone = { lanSessionId: opened.sessionId, captureSessionId: cur.id, patientId: cur.patient.id, qr: opened.qr, phonesJoined: 0, network };
      changed();
      return phoneView() as PhoneView;
    },

    'phone.regenerate': async () => {
      if (phone === null || lan === undefined) throw new AppError('ERR_LAN_SESSION_ENDED');
      phone.qr = await lan.rotateQr(phone.lanSessionId);
      changed();
      return phoneView() as PhoneView;
    },

    'phone.end': async () => {
      await endPhone('ended');
      changed();
      return { ok: true };
    },

    'commit.start': async ({ ids, targets, captionStrip }) => {
      if (!targets.media && !targets.inboxScan) throw new AppError('ERR_REQUEST_INVALID', { detail: 'choose at least one target' });
      let recs: ImageRecord[];
      if (ids === undefined) {
        const cur = requireWorking();
        recs = [...images.values()].filter((r) => r.patient.id === cur.patient.id && !frozen(r) && r.status !== 'processing');
      } else {
        recs = ids.map(getImage);
      }
      aheadTargets = targets;
      const queued: string[] = [];
      const skipped: { id: string; error: ErrorBody }[] = [];
      for (const rec of recs) {
        if (frozen(rec)) {
          skipped.push({ id: rec.id, error: new AppError('ERR_IMAGE_LOCKED').toBody() });
          continue;
        }
        if (rec.status === 'processing' || rec.master === undefined) {
          skipped.push({ id: rec.id, error: new AppError('ERR_NOT_FOUND', { detail: 'image still processing' }).toBody() });
          continue;
        }
        const missing = missingFields(rec);
        if (missing.length > 0) {
          skipped.push({ id: rec.id, error: new AppError('ERR_IMAGE_METADATA_REQUIRED', { detail: missing.join(', ') }).toBody() });
          continue;
        }
        rec.committing = true;
        try {
          await renderAndEnqueue(rec, targets, captionStrip);
          queued.push(rec.id);
        } catch (err) {
          const e = toAppError(err);
          if (e.code === 'ERR_INTERNAL') log.error({ imageId: rec.id, ...errKind(e.cause ?? err) }, 'commit preparation failed unexpectedly');
          delete rec.progress;
          rec.error = e.toBody();
          if (!rec.inOutbox) refreshDraftStatus(rec);
          skipped.push({ id: rec.id, error: e.toBody() });
        } finally {
          delete rec.committing;
        }
      }
      const workingNow = working.current();
      if (queued.length > 0 && phone !== null && workingNow !== null && phone.captureSessionId === workingNow.id) {
        await endPhone('committed').catch((e: unknown) => log.warn({ err: toAppError(e).code }, 'could not end phone session'));
      }
      if (skipped.length > 0) notify('commit-failed', 'warning', `${skipped.length} image${skipped.length === 1 ? '' : 's'} could not be sent yet. Check the highlighted images.`);
      log.info({ queued: queued.length, skipped: skipped.length }, 'commit started');
      changed();
      return { queued, skipped };
    },

    ...outcomes.handlers(),
    'outbox.retry': async ({ imageId }) => {
      if (!outbox.retry(imageId)) throw new AppError('ERR_NOT_FOUND', { detail: 'nothing to retry' });
      changed();
      return { ok: true };
    },

    'notices.dismiss': async ({ id }) => {
      const i = notices.findIndex((n) => n.id === id);
      if (i >= 0) notices.splice(i, 1);
      changed();
      return { ok: true };
    },

    'settings.get': async () => config.settings,

    'settings.set': async ({ patch }) => {
      const next: Settings = applySettingsPatch(config.settings, patch);
      config = { ...config, settings: next };
      await deps.settingsStore.save(config);
      for (const rec of images.values()) refreshDraftStatus(rec);
      changed();
      return next;
    },
  };

  // A PC enrolled before whose stored credential cannot be read is told so at once, not at its first gateway call.
  if (config.enrolment !== null && (config.renewal ?? null) === null) await credentials();

  return {
    ...handlers,
    lanSink,
    on(event, listener) {
      let set = listeners.get(event);
      if (set === undefined) listeners.set(event, (set = new Set()));
      const fn = listener as (p: unknown) => void;
      set.add(fn);
      return () => set.delete(fn);
    },
    idle,
    async close() {
      endLookup('closed');
      verifier.close();
      for (const u of unsubscribers) u();
      await endPhone('ended').catch(() => undefined);
      await idle();
      listeners.clear();
    },
  };
}
