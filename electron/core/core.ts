/**
 * The companion core: implements the bridge (shared/contracts/bridge.ts) by composing small units, each with one
 * job (see electron/README.md "The core's units"):
 *
 *   launch URL ─parse─▶ gateway verify ─▶ working patient          launch-controller.ts (+ session/)
 *   NHI ─▶ gateway lookup ─▶ PENDING candidate ─(GP confirms)─▶ working patient        patient-lookup.ts
 *   desktop files / phone uploads ─▶ imaging ingest ─▶ metadata, edits   image-intake.ts, phone-capture.ts,
 *                                                                         image-library.ts, image-files.ts
 *   commit ─▶ render (JPEG for Media; PDF/TIFF for Inbox Scan) ─▶ outbox.enqueue (its OWN patient + grant)
 *                                                                         commit-pipeline.ts
 *   outbox events ─▶ image statuses; confirmed commit ─▶ master wiped ─▶ verify          outbox-sync.ts
 *   credential, gateway client, renewal watch; enrolment            device-access.ts, device-enrolment.ts
 *   events, notices, state snapshot, work in flight      event-hub.ts, notices.ts, snapshot.ts, pending-work.ts
 *
 * Patient binding is structural: an image record gets its patient and grant when it is created (from the
 * working session for desktop files, from the capture session named by the LAN upload for phone photos)
 * and nothing later reads "the current patient" to decide where it goes.
 * Logs carry image ids, codes and counts only: never names, NHIs, launch pairs, grants or bytes.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AppState, BridgeEventName, BridgeEvents, BridgeHandlers, ImageStatus, ImageView, Unsubscribe } from '../../shared/contracts/bridge';
import { AppError } from '../../shared/errors/app-error';
import type { CommitClient } from '../gateway-client';
import type { OutboxItemView } from '../outbox/types';
import type { SecretStore } from '../secrets';
import { WorkingPatient } from '../session';
import { CommitPipeline } from './commit-pipeline';
import { DeviceAccess } from './device-access';
import { DeviceEnrolment } from './device-enrolment';
import { EventHub } from './event-hub';
import { RenderAhead } from '../imaging/render-ahead';
import { ImageFiles } from './image-files';
import { bytesInputs, ImageIntake, pathInputs } from './image-intake';
import { ImageLibrary } from './image-library';
import type { ImageRecord } from './image-record';
import { restoreImages } from './image-recovery';
import { LaunchController } from './launch-controller';
import { NoticeBoard } from './notices';
import { OutboxSync, outboxView } from './outbox-sync';
import { PatientLookup } from './patient-lookup';
import { PendingWork } from './pending-work';
import { PhoneCapture, type PhoneCaptureDeps } from './phone-capture';
import type { Clock, GatewayFactory, ImagingPort, LanPort, LanSink, OutboxPort } from './ports';
import { applySettingsPatch, ConfigCell, type SettingsStore } from './settings';
import { buildSnapshot } from './snapshot';
import { MedtechOutcomes } from './unconfirmed';
import { CommitVerifier, type VerifyTimers } from './verify';

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
  networkCheck?: PhoneCaptureDeps['networkCheck'];
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

/** The shared plumbing every unit gets: logger, time, ids, events, notices, work in flight, configuration. */
async function plumbing(deps: CompanionCoreDeps, snapshot: () => AppState) {
  const log = deps.logger.child({ component: 'core' });
  const newId = deps.newId ?? randomUUID;
  const iso = (ms = deps.clock.now()): string => new Date(ms).toISOString();
  let sessionCounter = 0;
  const working = new WorkingPatient({ now: () => deps.clock.now(), newSessionId: () => `cs-${++sessionCounter}-${newId().slice(0, 8)}` });
  const config = await ConfigCell.load(deps.settingsStore);
  const hub = new EventHub(log, snapshot);
  const notices = new NoticeBoard(() => iso(), (n) => hub.emit('notice', n));
  const work = new PendingWork();
  const changed = (): void => hub.changed();
  const track = <T>(p: Promise<T>): Promise<T> => work.track(p);
  const access = new DeviceAccess({ config, secrets: deps.secrets, gateway: deps.gateway, clock: deps.clock, log, track, changed });
  return { log, newId, iso, working, config, hub, notices, work, changed, track, access };
}

/** Every unit, wired in the order the companion starts: drafts, LAN server, outbox, restored images. */
async function composeUnits(deps: CompanionCoreDeps) {
  const base = await plumbing(deps, () => buildSnapshot(sources));
  const { log, iso, working, config, hub, notices, changed, track, access } = base;
  const requiredFields = () => config.current.settings.requiredFields;
  const files = await ImageFiles.open(deps.workDir, deps.secrets);
  const progress = (p: BridgeEvents['image-progress']): void => hub.emit('image-progress', p);
  const verifier = new CommitVerifier({ read: (id) => access.gateway().verifyCommit(id), changed, logger: log, track, ...(deps.timers ? { timers: deps.timers } : {}) });
  const late: { outcomes?: MedtechOutcomes } = {}; // made once the outbox is open
  const decorate = (v: ImageView): void => {
    late.outcomes?.decorateImage(v);
    verifier.decorateImage(v);
  };
  const ahead = new RenderAhead((p, e, o) => track(deps.imaging.render(p, e, o)));
  files.onRemove = (id) => ahead.forgetImage(id);
  const renderAhead = { ahead, settings: () => config.current.settings };
  const library = new ImageLibrary({ imaging: deps.imaging, renderAhead, files, working, newId: base.newId, iso: () => iso(), requiredFields, changed, progress, track, notices, decorate, log });
  const intake = new ImageIntake({ library, notices, log });
  const networkCheck = deps.networkCheck === undefined ? {} : { networkCheck: deps.networkCheck };
  const phone = new PhoneCapture({ working, library, notices, roomLabel: () => config.current.settings.roomLabel, ...networkCheck, changed, log });
  if (deps.lan !== undefined) phone.attach(await deps.lan(phone.sink));
  const opened: { outbox?: OutboxPort } = {}; // the commit client can look items up only once the outbox is open
  const outbox = await deps.openOutbox(access.commitClient((id) => opened.outbox?.get(id)));
  opened.outbox = outbox;
  const outcomes = new MedtechOutcomes({ outbox, logger: log, notify: (...n) => notices.notify(...n), changed });
  late.outcomes = outcomes;
  const observe = (item: OutboxItemView, rec: ImageRecord, previous: ImageStatus): void => outcomes.observe(item, rec, previous);
  const verify = deps.verifyAfterCommit === false ? {} : { verify: (id: string) => verifier.start(id) };
  const sync = new OutboxSync({ outbox, library, files, notices, ...verify, observe, track, changed, log });
  const unsubscribers = sync.subscribe();
  await restoreImages({ files, library, outbox, applyOutbox: (item) => sync.apply(item), notices, log });
  const enrolment = new DeviceEnrolment({ config, access, secrets: deps.secrets, gateway: deps.gateway, outbox, notices, log, changed, iso, ...optional(deps) });
  const loopback = deps.loopbackLaunchPort === undefined ? {} : { loopbackLaunchPort: deps.loopbackLaunchPort };
  const launch = new LaunchController({ working, access, library, outbox, phone, notices, changed, log, ...loopback });
  const lookup = new PatientLookup({ working, access, launch, clock: deps.clock, iso, changed, log });
  const commit = new CommitPipeline({ working, library, imaging: deps.imaging, renderAhead: ahead, outbox, sync, phone, notices, settings: () => config.current.settings, progress, track, changed, log });
  const sources = {
    revision: () => hub.revision,
    enrolment: () => enrolment.view(),
    working,
    images: () => library.views(),
    phone: () => phone.view(),
    outbox,
    outboxView: (item: OutboxItemView) => {
      const v = outboxView(item);
      outcomes.decorateOutbox(v, item);
      return v;
    },
    notices: () => notices.list(),
    pendingLookup: () => lookup.view(),
    iso,
  };
  return { ...base, library, intake, phone, outbox, outcomes, verifier, unsubscribers, enrolment, launch, lookup, commit, snapshot: () => buildSnapshot(sources) };
}
type Units = Awaited<ReturnType<typeof composeUnits>>;

function optional(deps: CompanionCoreDeps): { platform?: string; appVersion?: string } {
  return { ...(deps.platform === undefined ? {} : { platform: deps.platform }), ...(deps.appVersion === undefined ? {} : { appVersion: deps.appVersion }) };
}

/** Each bridge method, answered by the unit that owns it. */
function bridgeHandlers(u: Units): BridgeHandlers {
  const { working, library, changed } = u;
  return {
    'app.getState': async () => u.snapshot(),
    'enrolment.enrol': (req) => u.enrolment.enrol(req),
    'launch.open': async ({ url }) => {
      // A launch from Evolution always wins over an NHI search: the candidate and any running search end now.
      u.lookup.end('launch');
      return u.launch.open(url);
    },
    'patient.lookup': (req) => u.lookup.lookup(req),
    'patient.confirm': (req) => u.lookup.confirm(req),
    'patient.cancelLookup': async () => {
      if (u.lookup.end('cancelled')) changed();
      return { ok: true };
    },
    'images.addFiles': async ({ files }) => u.intake.add(working.requireCurrent(), bytesInputs(files)),
    'images.addPaths': async ({ paths }) => u.intake.add(working.requireCurrent(), pathInputs(paths)),
    'images.updateMetadata': ({ ids, patch }) => library.updateMetadata(ids, patch),
    'images.applyMetadataToAll': async ({ patch }) => library.applyToPatient(working.requireCurrent().patient.id, patch),
    'images.edit': ({ id, edits }) => library.edit(id, edits),
    'images.remove': ({ ids }) => library.remove(ids),
    'images.preview': ({ id }) => library.preview(id),
    'phone.start': () => u.phone.start(),
    'phone.regenerate': () => u.phone.regenerate(),
    'phone.end': async () => {
      await u.phone.end('ended');
      changed();
      return { ok: true };
    },
    'commit.start': (req) => u.commit.start(req),
    ...u.outcomes.handlers(),
    'outbox.retry': async ({ imageId }) => {
      if (!u.outbox.retry(imageId)) throw new AppError('ERR_NOT_FOUND', { detail: 'nothing to retry' });
      changed();
      return { ok: true };
    },
    'notices.dismiss': async ({ id }) => {
      u.notices.dismiss(id);
      changed();
      return { ok: true };
    },
    'settings.get': async () => u.config.current.settings,
    'settings.set': async ({ patch }) => {
      const next = applySettingsPatch(u.config.current.settings, patch);
      await u.config.replace({ ...u.config.current, settings: next });
      library.refreshAll();
      changed();
      return next;
    },
  };
}

export async function createCompanionCore(deps: CompanionCoreDeps): Promise<CompanionCore> {
  const u = await composeUnits(deps);
  const handlers = bridgeHandlers(u);
  // A PC enrolled before whose stored credential cannot be read is told so at once, not at its first gateway call.
  if (u.config.current.enrolment !== null && (u.config.current.renewal ?? null) === null) await u.access.credentials();
  return {
    ...handlers,
    lanSink: u.phone.sink,
    on: (event, listener) => u.hub.on(event, listener),
    idle: () => u.work.idle(),
    async close() {
      u.lookup.end('closed');
      u.verifier.close();
      for (const unsubscribe of u.unsubscribers) unsubscribe();
      await u.phone.end('ended').catch(() => undefined);
      await u.work.idle();
      u.hub.clear();
    },
  };
}
