// The phone page ⇄ companion LAN server wire contract: plain HTTP, the QR token in the URL fragment, then a
// per-phone bearer credential. Prose spec with the error table per endpoint: electron/lan/README.md.
import { Type, type Static } from '@sinclair/typebox';
import { ConsentKeySchema, LateralityKeySchema, Uuid, strict } from './common';

/** Bumped on any incompatible change; also advertised in the DNS-SD TXT record (`v`). */
export const LAN_PROTOCOL_VERSION = 1;

/** DNS-SD service type (without the leading underscore and protocol): `_clinicpro-images._tcp`. */
export const LAN_SERVICE_TYPE = 'clinicpro-images';

/** Production port of the LAN server (the installer opens it for private networks only). */
export const LAN_DEFAULT_PORT = 47800;

export const LAN_ROUTES = {
  /** GET: the mobile page. The QR URL points here, with the token in the fragment. */
  page: '/m/',
  assetsPrefix: '/m/assets/',
  /** POST: QR token → per-phone credential. */
  exchange: '/api/images/v1/session/exchange',
  session: '/api/images/v1/session',
  upload: '/api/images/v1/upload',
  /** POST: the nurse said the phone shows the wrong patient; the phone leaves and the PC is told. */
  decline: '/api/images/v1/session/decline',
  /** POST: the phone holds these photos for this session's patient; the PC numbers them. */
  hold: '/api/images/v1/photos/hold',
  /** POST: held photos this phone will not send after all (removed, refused): the PC stops waiting for them. */
  release: '/api/images/v1/photos/release',
} as const;

/** A QR token or upload credential: 32 random bytes as base64url (256 bits). */
export const LanSecret = Type.String({ pattern: '^[A-Za-z0-9_-]{43}$', minLength: 43, maxLength: 43 });

/** `#t=<token>` */
export const QR_FRAGMENT_PARAM = 't';

// --- POST /api/images/v1/session/exchange ----------------------------------------------------------

export const ExchangeRequest = strict({ token: LanSecret });
export type ExchangeRequest = Static<typeof ExchangeRequest>;

/** What the phone shows so the nurse can check she is uploading for the right patient. */
export const LanSessionInfo = Type.Object({
  patient: Type.Object({
    displayName: Type.String({ maxLength: 200 }),
    birthDate: Type.String({ pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' }),
  }),
  roomLabel: Type.String({ maxLength: 100 }),
});
export type LanSessionInfo = Static<typeof LanSessionInfo>;

export const LanClientLimits = Type.Object({
  maxUploadFileBytes: Type.Integer({ minimum: 1 }),
  /** Seconds of inactivity after which the credential stops working. */
  idleSeconds: Type.Integer({ minimum: 1 }),
  acceptedTypes: Type.Array(Type.String()),
});

export const ExchangeResponse = Type.Object({
  protocolVersion: Type.Literal(LAN_PROTOCOL_VERSION),
  /** The per-phone upload credential: send as `Authorization: Bearer <credential>`. Keep in memory only. */
  credential: LanSecret,
  /** Short public id of this phone within the session (shown on the PC). */
  phoneId: Type.String({ pattern: '^[0-9a-f]{16}$' }),
  session: LanSessionInfo,
  limits: LanClientLimits,
});
export type ExchangeResponse = Static<typeof ExchangeResponse>;

// --- POST /api/images/v1/upload (multipart/form-data) ----------------------------------------------

/** Multipart field names, in the order they must be sent: the fields first, then exactly one file part. */
export const UPLOAD_FIELDS = {
  clientUploadId: 'clientUploadId',
  bodySiteCode: 'bodySiteCode',
  laterality: 'laterality',
  consent: 'consent',
  file: 'file',
} as const;

/** The text fields of an upload, validated before any byte of the file is written. */
export const UploadFields = strict({
  /** A v4 UUID minted by the phone per photo; a retry sends the same id and gets the first result. */
  clientUploadId: Uuid,
  bodySiteCode: Type.Optional(Type.String({ pattern: '^[0-9]{6,18}$' })),
  laterality: Type.Optional(LateralityKeySchema),
  /** The patient's consent the nurse recorded for this photo (shared/coded CONSENTS). */
  consent: Type.Optional(ConsentKeySchema),
});
export type UploadFields = Static<typeof UploadFields>;

export const UploadResponse = Type.Object({
  clientUploadId: Uuid,
  imageId: Type.String({ minLength: 1, maxLength: 64 }),
  bytes: Type.Integer({ minimum: 1 }),
  /** Lower-case hex SHA-256 of the bytes received. */
  sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  /** True when this answers a retry of an upload that had already succeeded. */
  duplicate: Type.Boolean(),
  /** The PC moved on to another patient: this held photo still went to the confirmed one; take no new photos. */
  patientChanged: Type.Optional(Type.Boolean()),
  /** The GP pressed Send while this held photo was on its way: it arrived and goes with that Send; take no new photos. */
  sessionSent: Type.Optional(Type.Boolean()),
});
export type UploadResponse = Static<typeof UploadResponse>;

// --- POST /api/images/v1/photos/hold ---------------------------------------------------------------

export const LAN_HOLD_MAX_IDS = 50;

export const HoldRequest = strict({ clientUploadIds: Type.Array(Uuid, { minItems: 1, maxItems: LAN_HOLD_MAX_IDS }) });
export type HoldRequest = Static<typeof HoldRequest>;

export const HoldResponse = Type.Object({
  /** Each photo with the number the PC gave it: "Photo 3" on the phone is "Photo 3" on the PC and in Medtech. */
  held: Type.Array(Type.Object({ clientUploadId: Uuid, photoNumber: Type.Integer({ minimum: 1 }) })),
});
export type HoldResponse = Static<typeof HoldResponse>;

// --- GET /api/images/v1/session ------------------------------------------------------------------

export const SessionStatusResponse = Type.Object({
  state: Type.Literal('open'),
  session: LanSessionInfo,
  /** From every phone, in order. */
  uploads: Type.Array(Type.Object({ clientUploadId: Uuid, imageId: Type.String() })),
  /** Seconds until the credential expires if unused. */
  idleSecondsLeft: Type.Integer({ minimum: 0 }),
});
export type SessionStatusResponse = Static<typeof SessionStatusResponse>;

// --- DNS-SD --------------------------------------------------------------------------------------

/** TXT record of the `_clinicpro-images._tcp` advertisement. Carries no patient data. */
export const LanTxtRecord = Type.Object({
  v: Type.String({ pattern: '^[0-9]+$' }),
  room: Type.String({ maxLength: 63 }),
  id: Type.String({ pattern: '^[A-Za-z0-9]{4,16}$' }),
});
export type LanTxtRecord = Static<typeof LanTxtRecord>;

/** The types the upload route accepts, by sniffed bytes (not the client's content type). */
export const LAN_ACCEPTED_TYPES = ['image/jpeg', 'image/png', 'image/heic', 'image/webp', 'image/tiff', 'application/pdf'] as const;
export type LanAcceptedType = (typeof LAN_ACCEPTED_TYPES)[number];
