// The companion API: what the UI may ask the companion core and what the core pushes back (wire rules: electron/README.md).
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { AppError, type ErrorBody } from '../errors/app-error';
import { LIMITS } from '../limits';
import { ConsentKeySchema, ErrorBodySchema, ImageMetadata, LateralityKeySchema, PatientSummary, Uuid, ViewKeySchema, ImageTypeKeySchema, oneOf, strict } from './common';

// --- building blocks ---------------------------------------------------------------------------------

/** An image id: a v4 UUID minted at ingest. Also the FHIR identifier value and the Idempotency-Key. */
export const ImageId = Uuid;

/** ISO-8601 time as text. (No `format`: the validator runs without a format registry, in browser and Node.) */
export const IsoTime = Type.String({ minLength: 10, maxLength: 40 });

/** A fraction of the (rotated) image's width or height, 0..1. Resolution-independent: thumbnail, preview and master agree. */
const Fraction = Type.Number({ minimum: 0, maximum: 1 });
const Point = strict({ x: Fraction, y: Fraction });

export const AnnotationColour = oneOf('red', 'yellow', 'white', 'black');

/** Simple annotations burned into the pixels at render time. Coordinates are fractions of the rotated, uncropped image. */
export const Annotation = Type.Union([
  strict({ kind: Type.Literal('arrow'), from: Point, to: Point, colour: AnnotationColour }),
  /** Radius as a fraction of the shorter edge. */
  strict({ kind: Type.Literal('circle'), centre: Point, radius: Type.Number({ exclusiveMinimum: 0, maximum: 1 }), colour: AnnotationColour }),
  strict({ kind: Type.Literal('text'), at: Point, text: Type.String({ minLength: 1, maxLength: 200 }), colour: AnnotationColour }),
]);
export type Annotation = Static<typeof Annotation>;

/** Non-destructive edits, applied to the master only when rendering for preview or commit. Order: rotate, then crop, then annotate. */
export const ImageEdits = strict({
  /** Clockwise degrees, applied after EXIF orientation. */
  rotate: Type.Union([Type.Literal(0), Type.Literal(90), Type.Literal(180), Type.Literal(270)]),
  /** Rectangle in fractions of the rotated image. */
  crop: Type.Optional(strict({ x: Fraction, y: Fraction, width: Fraction, height: Fraction })),
  annotations: Type.Array(Annotation, { maxItems: 50 }),
});
export type ImageEdits = Static<typeof ImageEdits>;

/** A change to metadata: a value sets the field, `null` clears it, absent leaves it. */
const orNull = <T extends TSchema>(schema: T) => Type.Optional(Type.Union([schema, Type.Null()]));
export const ImageMetadataPatch = strict({
  bodySiteCode: orNull(Type.String({ pattern: '^[0-9]{6,18}$' })),
  laterality: orNull(LateralityKeySchema),
  view: orNull(ViewKeySchema),
  imageType: orNull(ImageTypeKeySchema),
  caption: orNull(Type.String({ maxLength: LIMITS.maxCaptionChars })),
  consent: orNull(ConsentKeySchema),
});
export type ImageMetadataPatch = Static<typeof ImageMetadataPatch>;

/**
 * Metadata fields a practice can make required before an image is 'ready'. `consent` in `requiredFields` is the
 * practice setting "record the patient's consent before sending" (off by default).
 */
export const MetadataField = oneOf('bodySiteCode', 'laterality', 'view', 'imageType', 'caption', 'consent');
export type MetadataField = Static<typeof MetadataField>;

/** Where a commit goes: FHIR Media (JPEG ≤ 1 MB) and/or Inbox Scan DocumentReference (TIFF or PDF ≤ 1 MB). */
export const CommitTargets = strict({ media: Type.Boolean(), inboxScan: Type.Boolean() });
export type CommitTargets = Static<typeof CommitTargets>;

// --- view models (what the UI renders) -----------------------------------------------------------------

/**
 * Why an enrolled PC must be enrolled again: the gateway withdrew it (`revoked`), no longer knows it (`unknown`),
 * requires a device key it was enrolled without (`key-required`), or the credential stored on this PC cannot be
 * read (`credential-unreadable`).
 */
export const EnrolmentRenewalReason = oneOf('revoked', 'unknown', 'key-required', 'credential-unreadable');
export type EnrolmentRenewalReason = Static<typeof EnrolmentRenewalReason>;

export const EnrolmentRenewal = Type.Object({
  reason: EnrolmentRenewalReason,
  /** What to tell practice IT, in plain words. */
  message: Type.String({ maxLength: 500 }),
  since: IsoTime,
});

export const EnrolmentView = Type.Object({
  /** False when never enrolled, and when the enrolment must be renewed (`renewal`). */
  enrolled: Type.Boolean(),
  /** The practice and PC name of the current enrolment, or of the one being renewed. */
  practiceName: Type.Optional(Type.String()),
  deviceName: Type.Optional(Type.String()),
  gatewayUrl: Type.Optional(Type.String()),
  /** Present when this PC was enrolled but has to be enrolled again with a new code. Nothing captured is lost meanwhile. */
  renewal: Type.Optional(EnrolmentRenewal),
});
export type EnrolmentView = Static<typeof EnrolmentView>;

/** The launch state. Nothing verified, nothing shown: while not 'ready', AppState.patient is the last verified patient or null. */
export const LaunchView = Type.Object({
  status: oneOf('none', 'verifying', 'ready', 'error'),
  error: Type.Optional(ErrorBodySchema),
});
export type LaunchView = Static<typeof LaunchView>;

/** Opaque, minted by the core. */
export const LookupId = Type.String({ pattern: '^lk_[A-Za-z0-9_-]{8,64}$', maxLength: 67 });

/**
 * A patient found by NHI (the fallback when no launch from Evolution is possible), waiting for the GP to
 * confirm that this is the patient in front of them. NOT the working patient: nothing can be added or sent
 * for it until `patient.confirm`. It ends with its grant (`expiresAt`), on cancel, or when a launch arrives.
 */
export const PendingLookupView = Type.Object({
  lookupId: LookupId,
  patient: PatientSummary,
  expiresAt: IsoTime,
});
export type PendingLookupView = Static<typeof PendingLookupView>;

/**
 * processing (decoding, thumbnail) → needs-info (see missingFields) | ready → sending (in the outbox) → committed
 * (Medtech confirmed; local copies wiped). waiting: will retry by itself (see error). failed: will not (Retry).
 * unconfirmed: sent, never confirmed; a person looks in Medtech, then "It is in Medtech" or "Send again".
 */
export const ImageStatus = oneOf('processing', 'needs-info', 'ready', 'sending', 'waiting', 'committed', 'failed', 'unconfirmed');
export type ImageStatus = Static<typeof ImageStatus>;

export const ImageSource = oneOf('desktop', 'phone');
export type ImageSource = Static<typeof ImageSource>;

export const CommittedRefs = Type.Object({
  media: Type.Optional(Type.Object({ id: Type.String() })),
  documentReference: Type.Optional(Type.Object({ id: Type.String() })),
  /** Set once the gateway read the resources back from Medtech ("in Medtech ✓"). */
  verified: Type.Optional(Type.Boolean()),
  /**
   * Until `verified`: where reading it back stands. 'checking' = Medtech accepted it and it is being read back (a new
   * record can take minutes to show); 'not-seen' = read back for the whole bound (~7½ min) and not shown yet;
   * 'not-checked' = the reads could not be made. Never a failure: Medtech accepted the image.
   */
  readBack: Type.Optional(oneOf('checking', 'not-seen', 'not-checked')),
  /** 'person' when a person looked in Medtech and said it is there (after 'unconfirmed'); no resource id is known then. */
  confirmedBy: Type.Optional(Type.Literal('person')),
});

/**
 * Why an image or outbox item is 'waiting', when it is not an ordinary retry: `medtech-confirmation` = it was sent
 * and the gateway is waiting for Medtech to confirm it arrived (ERR_ALEX_OUTCOME_UNKNOWN). Nothing is sent twice.
 */
export const WaitingFor = Type.Literal('medtech-confirmation');

/** One image. Every image carries its OWN patient; nothing reads "the current patient" to decide where it goes. */
export const ImageView = Type.Object({
  id: ImageId,
  patientId: Type.String(),
  /** The patient this image was captured for (for the "belongs to …" label when it is not the working patient). */
  patient: PatientSummary,
  isWorkingPatient: Type.Boolean(),
  source: ImageSource,
  /** Name shown everywhere (the desktop file name, or "Photo N" for a phone photo, numbered by the PC when the phone held it). Never used as a path. */
  label: Type.String({ maxLength: 255 }),
  capturedAt: IsoTime,
  /** A `data:image/...` URL of the thumbnail (absent while processing). */
  thumbnailUrl: Type.Optional(Type.String()),
  width: Type.Optional(Type.Integer({ minimum: 1 })),
  height: Type.Optional(Type.Integer({ minimum: 1 })),
  status: ImageStatus,
  error: Type.Optional(ErrorBodySchema),
  metadata: ImageMetadata,
  missingFields: Type.Array(MetadataField),
  edits: ImageEdits,
  /** 0..1 while processing or sending. */
  progress: Type.Optional(Fraction),
  committed: Type.Optional(CommittedRefs),
  /** Set while 'waiting' for Medtech to confirm it arrived (see `nextCheckAt`). */
  waitingFor: Type.Optional(WaitingFor),
  nextCheckAt: Type.Optional(IsoTime),
});
export type ImageView = Static<typeof ImageView>;

export const PhoneView = Type.Object({
  active: Type.Boolean(),
  /** The patient the phone session is bound to (the phone page shows whom photos are for). */
  patientId: Type.String(),
  qrSvg: Type.String(),
  qrUrl: Type.String(),
  qrPngDataUrl: Type.Optional(Type.String()),
  expiresAt: IsoTime,
  phonesJoined: Type.Integer({ minimum: 0 }),
  /** Photos a phone has numbered that have not arrived yet: a "send all" sends them too, as each arrives. */
  photosComing: Type.Optional(Type.Integer({ minimum: 1 })),
  /** What would stop a phone reaching this PC (checked when the panel opened), each with its fix in plain words. */
  network: Type.Optional(Type.Array(Type.Object({ code: Type.String(), title: Type.String({ maxLength: 500 }), fix: Type.String({ maxLength: 500 }) }))),
});
export type PhoneView = Static<typeof PhoneView>;

export const OutboxStatus = oneOf('queued', 'sending', 'waiting', 'committed', 'failed', 'unconfirmed');
export type OutboxStatus = Static<typeof OutboxStatus>;

export const OutboxItemView = Type.Object({
  imageId: ImageId,
  patientId: Type.String(),
  /** The patient while the item is live; absent once committed (history keeps no names, only the NHI). */
  patient: Type.Optional(PatientSummary),
  nhi: Type.Optional(Type.String()),
  targets: CommitTargets,
  status: OutboxStatus,
  attempts: Type.Integer({ minimum: 0 }),
  nextAttemptAt: Type.Optional(IsoTime),
  error: Type.Optional(ErrorBodySchema),
  committed: Type.Optional(CommittedRefs),
  waitingFor: Type.Optional(WaitingFor),
  /** What a person must know happened to it: Medtech did not confirm it, and each person's answer. Oldest first. */
  history: Type.Optional(
    Type.Array(Type.Object({ action: oneOf('unconfirmed', 'person-confirmed', 'person-send-again'), at: IsoTime }), { maxItems: 50 }),
  ),
  updatedAt: IsoTime,
});
export type OutboxItemView = Static<typeof OutboxItemView>;

/** A message for the GP, e.g. patient switched: "2 images stay with SMITH, Jane". Stays until dismissed. */
export const Notice = Type.Object({
  id: Type.String(),
  kind: oneOf('patient-switched', 'phone-session-ended', 'commit-finished', 'commit-failed', 'images-rejected', 'info'),
  level: oneOf('info', 'warning', 'error'),
  message: Type.String({ maxLength: 1000 }),
  at: IsoTime,
  patientId: Type.Optional(Type.String()),
});
export type Notice = Static<typeof Notice>;

/** Companion settings (electron-store behind an interface in the shell). Versioned for upgrades. */
export const Settings = strict({
  version: Type.Literal(1),
  gatewayUrl: Type.String({ maxLength: 2048 }),
  /** Shown on the phone page, e.g. "Consult room 3". */
  roomLabel: Type.String({ maxLength: 60 }),
  defaultTargets: CommitTargets,
  inboxScanFormat: oneOf('pdf', 'tiff'),
  captionStrip: Type.Boolean(),
  requiredFields: Type.Array(MetadataField, { maxItems: 5, uniqueItems: true }),
  /** Largest processed attachment, bytes (Medtech: 1 MB). */
  maxAttachmentBytes: Type.Integer({ minimum: 100_000, maximum: 8_000_000 }),
});
export type Settings = Static<typeof Settings>;

export const SettingsPatch = Type.Partial(Type.Omit(Settings, ['version']), { additionalProperties: false });
export type SettingsPatch = Static<typeof SettingsPatch>;

export const AppState = Type.Object({
  /** Rises with every snapshot; a client ignores a snapshot older than the one it has. */
  revision: Type.Integer({ minimum: 0 }),
  enrolment: EnrolmentView,
  launch: LaunchView,
  /** The working patient (verified), or null: "Launch from Medtech Evolution" / "No patient selected". */
  patient: Type.Union([PatientSummary, Type.Null()]),
  /** A patient found by NHI and not yet confirmed by the GP (absent when there is none, or it expired). */
  pendingLookup: Type.Optional(PendingLookupView),
  /** One capture session: belongs to exactly one verified patient. A new patient means a new session. */
  captureSession: Type.Union([Type.Object({ id: Type.String(), patientId: Type.String(), startedAt: IsoTime }), Type.Null()]),
  /** All images not yet wiped, of every patient, newest last. */
  images: Type.Array(ImageView),
  phone: Type.Union([PhoneView, Type.Null()]),
  /**
   * Photos a phone had numbered before its session ended (a Send or a patient switch), per patient and phone session:
   * after a "send all" they are sent as they arrive ('send'); otherwise they wait on the desktop ('wait').
   */
  stillComing: Type.Optional(Type.Array(Type.Object({ patientId: Type.String(), photos: Type.Integer({ minimum: 1 }), onArrival: Type.Union([Type.Literal('send'), Type.Literal('wait')]) }))),
  outbox: Type.Array(OutboxItemView),
  notices: Type.Array(Notice),
});
export type AppState = Static<typeof AppState>;

// --- method arguments and answers ------------------------------------------------------------------------

const Empty = strict({});
const Ok = Type.Object({ ok: Type.Literal(true) });

/** base64 of a file's bytes (standard alphabet, padded). Transport-neutral: JSON over WebSocket, structured clone over IPC. */
export const Base64 = Type.String({
  minLength: 4,
  maxLength: Math.ceil(LIMITS.maxUploadFileBytes / 3) * 4,
  pattern: '^[A-Za-z0-9+/]+={0,2}$',
});

const FileData = strict({ name: Type.String({ minLength: 1, maxLength: 255 }), dataBase64: Base64 });
const FilePaths = Type.Array(Type.String({ minLength: 1, maxLength: 4096 }), { minItems: 1, maxItems: 100 });

/** Per-file outcome of adding: ids of images added (to the working patient), and files refused with why. */
export const AddImagesResponse = Type.Object({
  imageIds: Type.Array(ImageId),
  rejected: Type.Array(Type.Object({ name: Type.String(), error: ErrorBodySchema })),
});

const Ids = Type.Array(ImageId, { minItems: 1, maxItems: 500, uniqueItems: true });

export const CommitStartResponse = Type.Object({
  queued: Type.Array(ImageId),
  skipped: Type.Array(Type.Object({ id: ImageId, error: ErrorBodySchema })),
});
export type CommitStartResponse = Static<typeof CommitStartResponse>;

const method = <Req extends TSchema, Res extends TSchema>(request: Req, response: Res) => ({ request, response });

/** THE list of methods, `<namespace>.<verb>` → argument and answer schemas; the namespace groups them in `CompanionApi`. */
export const BRIDGE_SCHEMAS = {
  'app.getState': method(Empty, AppState),

  'enrolment.enrol': method(
    strict({
      gatewayUrl: Type.String({ minLength: 8, maxLength: 2048, pattern: '^https?://[^\\s]+$' }),
      enrolmentCode: Type.String({ minLength: 4, maxLength: 64 }),
      deviceName: Type.String({ minLength: 1, maxLength: 100 }),
    }),
    EnrolmentView,
  ),

  /** A launch URL (custom scheme or loopback http). Parsed strictly, verified by the gateway; the answer is the launch state. */
  'launch.open': method(strict({ url: Type.String({ minLength: 1, maxLength: LIMITS.launchUrlMaxChars }) }), LaunchView),

  /**
   * Fallback when no launch from Evolution is possible: find the patient by NHI (either format; spaces and case
   * do not matter). The answer is a PENDING candidate, never the working patient; a new search replaces it.
   * Invalid NHI → ERR_LOOKUP_NHI_INVALID; unknown → ERR_ALEX_PATIENT_NOT_FOUND; abandoned → ERR_REQUEST_CANCELLED.
   */
  'patient.lookup': method(strict({ nhi: Type.String({ minLength: 1, maxLength: 32 }) }), PendingLookupView),
  /**
   * "Yes, this patient": the candidate becomes the working patient, with the same rules as a verified launch
   * (switch notice, earlier images stay with their own patient, the previous phone session ends).
   * Unknown or superseded lookup → ERR_LOOKUP_ENDED; past its grant's expiry → ERR_LOOKUP_EXPIRED.
   */
  'patient.confirm': method(strict({ lookupId: LookupId }), LaunchView),
  /** "No, go back" / Esc: forget the candidate, and stop a search still running. */
  'patient.cancelLookup': method(Empty, Ok),

  'images.addFiles': method(strict({ files: Type.Array(FileData, { minItems: 1, maxItems: LIMITS.maxUploadFilesPerRequest }) }), AddImagesResponse),
  'images.addPaths': method(strict({ paths: FilePaths }), AddImagesResponse),
  'images.updateMetadata': method(strict({ ids: Ids, patch: ImageMetadataPatch }), Type.Object({ updated: Type.Array(ImageId) })),
  /** Applies to every not-yet-sent image of the working patient. */
  'images.applyMetadataToAll': method(strict({ patch: ImageMetadataPatch }), Type.Object({ updated: Type.Array(ImageId) })),
  'images.edit': method(strict({ id: ImageId, edits: ImageEdits }), ImageView),
  'images.remove': method(strict({ ids: Ids }), Type.Object({ removed: Type.Array(ImageId) })),
  /** A large rendition with the edits applied, as a JPEG data URL (at most ~3 MB; `maxEdge` is a hint the core may ignore). */
  'images.preview': method(
    strict({ id: ImageId, maxEdge: Type.Optional(Type.Integer({ minimum: 64, maximum: 4096 })) }),
    Type.Object({ dataUrl: Type.String(), width: Type.Integer({ minimum: 1 }), height: Type.Integer({ minimum: 1 }) }),
  ),

  'phone.start': method(Empty, PhoneView),
  'phone.regenerate': method(Empty, PhoneView),
  'phone.end': method(Empty, Ok),

  /** `ids` absent: every 'ready' image of the working patient. */
  'commit.start': method(strict({ ids: Type.Optional(Ids), targets: CommitTargets, captionStrip: Type.Boolean() }), CommitStartResponse),
  'outbox.retry': method(strict({ imageId: ImageId }), Ok),
  /**
   * For an 'unconfirmed' image, after a person looked in the patient's Inbox in Medtech and saw it: recorded at the
   * gateway (audited) and in the outbox history; the image becomes committed (confirmed by a person) and its local
   * copies are wiped. Not unconfirmed → ERR_NOT_FOUND.
   */
  'images.confirmArrived': method(strict({ id: ImageId }), Ok),
  /**
   * For an 'unconfirmed' image, after a person looked in Medtech and it is NOT there: sent once more (the gateway is
   * told a person checked). Risk: if it is there after all, Medtech gets a second copy. Not unconfirmed → ERR_NOT_FOUND.
   */
  'images.sendAgain': method(strict({ id: ImageId }), Ok),

  'notices.dismiss': method(strict({ id: Type.String({ minLength: 1, maxLength: 100 }) }), Ok),

  'settings.get': method(Empty, Settings),
  'settings.set': method(strict({ patch: SettingsPatch }), Settings),
} as const;

export type BridgeSchemas = typeof BRIDGE_SCHEMAS;
export type BridgeMethod = keyof BridgeSchemas;
export const BRIDGE_METHODS = Object.keys(BRIDGE_SCHEMAS) as BridgeMethod[];

export type BridgeRequest<M extends BridgeMethod> = Static<BridgeSchemas[M]['request']>;
export type BridgeResponse<M extends BridgeMethod> = Static<BridgeSchemas[M]['response']>;

// --- events ------------------------------------------------------------------------------------------------

export const ImageProgress = Type.Object({
  imageId: ImageId,
  phase: oneOf('ingest', 'render', 'upload', 'verify'),
  fraction: Fraction,
});
export type ImageProgress = Static<typeof ImageProgress>;

export const BRIDGE_EVENT_SCHEMAS = {
  state: AppState,
  'image-progress': ImageProgress,
  notice: Notice,
} as const;

export type BridgeEventSchemas = typeof BRIDGE_EVENT_SCHEMAS;
export type BridgeEventName = keyof BridgeEventSchemas;
export type BridgeEvents = { [E in BridgeEventName]: Static<BridgeEventSchemas[E]> };
export const BRIDGE_EVENTS = Object.keys(BRIDGE_EVENT_SCHEMAS) as BridgeEventName[];

// --- the API types -----------------------------------------------------------------------------------------

type NamespaceOf<M extends string> = M extends `${infer N}.${string}` ? N : never;
type VerbOf<M extends string, N extends string> = M extends `${N}.${infer V}` ? V : never;
type BridgeNamespace = NamespaceOf<BridgeMethod>;

/** A method whose argument is `{}` may be called with no argument. */
type MethodFn<M extends BridgeMethod> = object extends BridgeRequest<M>
  ? (arg?: BridgeRequest<M>) => Promise<BridgeResponse<M>>
  : (arg: BridgeRequest<M>) => Promise<BridgeResponse<M>>;

export type Unsubscribe = () => void;

/** What the renderer sees as `window.api` (and what the browser-host client implements). */
export type CompanionApi = {
  [N in BridgeNamespace]: { [V in VerbOf<BridgeMethod, N>]: MethodFn<Extract<`${N}.${V}`, BridgeMethod>> };
} & {
  on<E extends BridgeEventName>(event: E, listener: (payload: BridgeEvents[E]) => void): Unsubscribe;
};

export type BridgeHandlers = { [M in BridgeMethod]: (arg: BridgeRequest<M>) => Promise<BridgeResponse<M>> };

export type BridgeEnvelope<T = unknown> = { ok: true; value: T } | { ok: false; error: ErrorBody };

export const bridgeChannel = (m: BridgeMethod): string => `bridge:${m}`;
export const bridgeEventChannel = (e: BridgeEventName): string => `bridge-event:${e}`;

export function isBridgeMethod(value: unknown): value is BridgeMethod {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(BRIDGE_SCHEMAS, value);
}

/** Bad argument → ERR_REQUEST_INVALID whose detail names the first bad path, never echoes the value. */
export function checkBridgeRequest<M extends BridgeMethod>(
  method: M,
  arg: unknown,
): { ok: true; value: BridgeRequest<M> } | { ok: false; error: ErrorBody } {
  if (!isBridgeMethod(method)) return { ok: false, error: new AppError('ERR_REQUEST_INVALID', { detail: 'unknown method' }).toBody() };
  const schema = BRIDGE_SCHEMAS[method].request;
  const value = arg === undefined ? {} : arg;
  if (Value.Check(schema, value)) return { ok: true, value: value as BridgeRequest<M> };
  const first = Value.Errors(schema, value).First();
  const detail = `invalid argument at ${first?.path === '' || first === undefined ? '/' : first.path}`;
  return { ok: false, error: new AppError('ERR_REQUEST_INVALID', { detail }).toBody() };
}

export function checkBridgeResponse(method: BridgeMethod, value: unknown): boolean {
  return Value.Check(BRIDGE_SCHEMAS[method].response, value);
}
export function checkBridgeEvent(event: BridgeEventName, value: unknown): boolean {
  return Value.Check(BRIDGE_EVENT_SCHEMAS[event], value);
}

export function createBridgeClient(
  call: (method: BridgeMethod, arg: unknown) => Promise<BridgeEnvelope>,
  subscribe: (event: BridgeEventName, listener: (payload: unknown) => void) => Unsubscribe,
): CompanionApi {
  const api: Record<string, unknown> = {};
  for (const m of BRIDGE_METHODS) {
    const [ns, verb] = m.split('.') as [string, string];
    const group = (api[ns] ??= {}) as Record<string, unknown>;
    group[verb] = async (arg?: unknown) => {
      const envelope = await call(m, arg ?? {});
      if (envelope.ok) return envelope.value;
      throw AppError.fromBody(envelope.error);
    };
  }
  api.on = (event: BridgeEventName, listener: (payload: unknown) => void) => subscribe(event, listener);
  return api as CompanionApi;
}

export async function dispatchBridgeCall(
  handlers: BridgeHandlers,
  method: unknown,
  arg: unknown,
  onUnexpected?: (err: unknown) => void,
): Promise<BridgeEnvelope> {
  if (!isBridgeMethod(method)) return { ok: false, error: new AppError('ERR_REQUEST_INVALID', { detail: 'unknown method' }).toBody() };
  const checked = checkBridgeRequest(method, arg);
  if (!checked.ok) return checked;
  try {
    const handler = handlers[method] as (a: unknown) => Promise<unknown>;
    return { ok: true, value: await handler(checked.value) };
  } catch (err) {
    if (err instanceof AppError) return { ok: false, error: err.toBody() };
    onUnexpected?.(err);
    return { ok: false, error: new AppError('ERR_INTERNAL').toBody() };
  }
}
