/**
 * The companion core: implements the bridge (shared/contracts/bridge.ts) by composing the units of README.md, each
 * with one job, in the order the companion starts; each bridge method is one line calling the unit that owns it.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AppState, BridgeEventName, BridgeEvents, BridgeHandlers, ImageView, Unsubscribe } from '../../shared/contracts/bridge';
import { AppError } from '../../shared/errors/app-error';
import type { CommitClient } from '../gateway-client/client';
import type { SecretStore } from '../secrets';
import { WorkingPatient } from '../session';
import { CommitPipeline } from './commit-pipeline';
import { DeviceAccess } from './device-access';
import { DeviceEnrolment } from './device-enrolment';
import { EventHub } from './event-hub';
import { RenderAhead } from '../imaging/render-ahead';
import { SendFollowers, stillComingFile } from './send-followers';
import { ImageFiles, restoreImages } from './image-files';
import { bytesInputs, ImageIntake, pathInputs } from './image-intake';
import { ImageLibrary } from './image-library';
import { LaunchController } from './launch-controller';
import { NoticeBoard } from './notices';
import { OutboxSync } from './outbox-sync';
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
  /** Working masters, one file per image named by its id. Created by the caller. */
  workDir: string;
  imaging: ImagingPort;
  secrets: SecretStore;
  settingsStore: SettingsStore;
  gateway: GatewayFactory;
  /** With the core's commit client (it follows the enrolled gateway). */
  openOutbox: (commit: CommitClient) => Promise<OutboxPort>;
  /** Absent: no phone capture. */
  lan?: (sink: LanSink) => Promise<LanPort> | LanPort;
  networkCheck?: PhoneCaptureDeps['networkCheck'];
  /** Image ids (v4 UUID). Default crypto.randomUUID. */
  newId?: () => string;
  loopbackLaunchPort?: number;
  appVersion?: string;
  platform?: string;
  /** Read Medtech back after each commit ("in Medtech ✓", ./verify). Default true. */
  verifyAfterCommit?: boolean;
  /** For those read-backs. Default the system's (unref'd). */
  timers?: VerifyTimers;
}

export interface CompanionCore extends BridgeHandlers {
  on<E extends BridgeEventName>(event: E, listener: (payload: BridgeEvents[E]) => void): Unsubscribe;
  /** Also given to deps.lan. */
  readonly lanSink: LanSink;
  /** Resolves when no work the core started is still running. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/** What every unit may get: logger, time, ids, events, notices, work in flight, configuration, device access. */
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
  const { log, working, config, hub, notices, changed, track, access } = base;
  const parts = { ...base, secrets: deps.secrets, gateway: deps.gateway, clock: deps.clock, imaging: deps.imaging };
  const files = await ImageFiles.open(deps.workDir, deps.secrets);
  const progress = (p: BridgeEvents['image-progress']): void => hub.emit('image-progress', p);
  const verifier = new CommitVerifier({ read: (id) => access.gateway().verifyCommit(id), changed, logger: log, track, timers: deps.timers });
  const late: { outcomes?: MedtechOutcomes; commit?: CommitPipeline } = {}; // made once the outbox is open
  const decorate = (v: ImageView): void => {
    late.outcomes?.decorateImage(v);
    verifier.decorateImage(v);
  };
  const ahead = new RenderAhead((p, e, o) => track(deps.imaging.render(p, e, o)), undefined, { track });
  files.onRemove = (id) => ahead.forgetImage(id);
  const renderAhead = { ahead, settings: () => config.current.settings };
  const library = new ImageLibrary({ ...parts, files, renderAhead, requiredFields: () => config.current.settings.requiredFields, progress, decorate });
  const intake = new ImageIntake({ ...parts, library });
  const store = stillComingFile(deps.workDir);
  const followers = new SendFollowers({ ...parts, store, send: (rec, plan) => (late.commit === undefined ? Promise.resolve(undefined) : late.commit.sendFollower(rec, plan)) });
  await followers.recover(); // before restoreImages, which clears the work folder of anything that is not an image's
  const phone = new PhoneCapture({ ...parts, library, followers, roomLabel: () => config.current.settings.roomLabel, networkCheck: deps.networkCheck });
  if (deps.lan !== undefined) {
    const lan = await deps.lan(phone.sink);
    phone.attach(lan);
    // Renders ahead wait while photos come in; a phone that joins is about to send some (HEIC decoders loaded now).
    lan.on('upload-started', () => ahead.incoming.begin());
    lan.on('upload-ended', () => ahead.incoming.end());
    lan.on('phone-joined', () => deps.imaging.warmUp?.());
  }
  const opened: { outbox?: OutboxPort } = {}; // the commit client can look items up only once the outbox is open
  const outbox = await deps.openOutbox(access.commitClient((id) => opened.outbox?.get(id)));
  opened.outbox = outbox;
  const outcomes = new MedtechOutcomes({ ...parts, outbox });
  late.outcomes = outcomes;
  const verify = deps.verifyAfterCommit === false ? undefined : (id: string) => verifier.start(id);
  const sync = new OutboxSync({ ...parts, outbox, library, files, verify, observe: (item, rec, previous) => outcomes.observe(item, rec, previous) });
  const unsubscribers = sync.subscribe();
  await restoreImages({ ...parts, files, library, outbox, applyOutbox: (item) => sync.apply(item) });
  const enrolment = new DeviceEnrolment({ ...parts, outbox, platform: deps.platform, appVersion: deps.appVersion });
  const launch = new LaunchController({ ...parts, library, outbox, phone, loopbackLaunchPort: deps.loopbackLaunchPort });
  const lookup = new PatientLookup({ ...parts, launch });
  const commit = new CommitPipeline({ ...parts, library, renderAhead: ahead, outbox, sync, phone, followers, settings: () => config.current.settings, progress });
  late.commit = commit;
  const sources = {
    revision: () => hub.revision,
    enrolment: () => enrolment.view(),
    working,
    images: () => library.views(),
    phone: () => phone.view(),
    stillComing: () => followers.view(),
    outbox,
    notices: () => notices.list(),
    pendingLookup: () => lookup.view(),
    iso: base.iso,
  };
  return { ...base, library, intake, phone, outbox, outcomes, verifier, unsubscribers, enrolment, launch, lookup, commit, ahead, snapshot: () => buildSnapshot(sources) };
}
type Units = Awaited<ReturnType<typeof composeUnits>>;

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
      u.ahead.stop(); // a render ahead still waiting for a phone's pause (an upload may hang for minutes) is not made
      await u.work.idle();
      u.hub.clear();
    },
  };
}
