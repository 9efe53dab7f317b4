// The companion ⇄ gateway wire contract (HTTPS JSON; errors as { error: ErrorBody } with the code's HTTP status).
// One schema validates on both ends and gives the types. Prose spec, routes and their rules: gateway/README.md.
import { Type, type Static } from '@sinclair/typebox';
import { DateTime, ImageMetadata, PatientSummary, Uuid, oneOf, strict } from './common';
import { LIMITS } from '../limits';

export const GATEWAY_ROUTES = {
  enrol: '/v1/devices/enrol',
  me: '/v1/devices/me',
  launchVerify: '/v1/launch/verify',
  launchLookup: '/v1/launch/lookup',
  launchConfirm: '/v1/launch/confirm',
  commit: '/v1/commits',
  commitVerify: '/v1/commits/:imageId/verify',
  commitConfirm: '/v1/commits/:imageId/confirm',
  healthz: '/healthz',
  readyz: '/readyz',
} as const;

export const HEADERS = {
  /** On every call except enrolment and health. */
  authorization: 'authorization',
  /** Optional: the gateway mints one when absent, and echoes it. */
  correlationId: 'x-correlation-id',
  idempotencyKey: 'idempotency-key',
  /** Proof of possession of the device key (RFC 9449), on every authenticated call of a key-bound device. */
  dpop: 'dpop',
} as const;

/** `Device <deviceId>.<secret>` — deviceId is `dev_` + 22 url-safe chars, secret 43 url-safe chars (256 bits). */
export const DEVICE_AUTH_SCHEME = 'Device';
export const DeviceId = Type.String({ pattern: '^dev_[A-Za-z0-9_-]{22}$' });

/** Proof of possession (DPoP, RFC 9449; what is signed and the checks in order: gateway/README.md). */
export const DPOP = {
  type: 'dpop+jwt',
  alg: 'ES256',
  maxSkewSeconds: 60,
  /** Longest DPoP header accepted (an ES256 proof is ~600 characters). */
  maxProofLength: 2048,
  minJtiLength: 16,
  maxJtiLength: 128,
} as const;

const Base64Url256 = Type.String({ pattern: '^[A-Za-z0-9_-]{43}$' });
/** The device's public key for DPoP: EC P-256, public members only (RFC 7517). */
export const DpopPublicJwk = strict({ kty: Type.Literal('EC'), crv: Type.Literal('P-256'), x: Base64Url256, y: Base64Url256 });
export type DpopPublicJwk = Static<typeof DpopPublicJwk>;

// --- enrolment -------------------------------------------------------------------------------------

export const EnrolRequest = strict({
  /** One-time code issued by the operator CLI, e.g. `K7QD-9XWP-M3TA`. */
  enrolmentCode: Type.String({ minLength: 4, maxLength: 64 }),
  /** Shown in the operator's device list, e.g. "Consult room 3". */
  deviceName: Type.String({ minLength: 1, maxLength: 100 }),
  platform: Type.Optional(Type.String({ maxLength: 50 })),
  appVersion: Type.Optional(Type.String({ maxLength: 50 })),
  /** The device's DPoP public key. When given, every later call must carry a DPoP proof made with it. */
  dpopJwk: Type.Optional(DpopPublicJwk),
});
export type EnrolRequest = Static<typeof EnrolRequest>;

export const EnrolResponse = Type.Object({
  deviceId: DeviceId,
  /** Shown once; the gateway keeps only a hash. Store in the OS credential store. */
  deviceSecret: Type.String({ minLength: 32, maxLength: 128 }),
  facilityId: Type.String(),
  practiceName: Type.String(),
});
export type EnrolResponse = Static<typeof EnrolResponse>;

export const DeviceInfo = Type.Object({
  deviceId: DeviceId,
  deviceName: Type.String(),
  facilityId: Type.String(),
  practiceName: Type.String(),
});
export type DeviceInfo = Static<typeof DeviceInfo>;

// --- launch ----------------------------------------------------------------------------------------

/** The opaque pair from Evolution's launch URL, forwarded verbatim. */
export const LaunchVerifyRequest = strict({
  context: Type.String({ minLength: 1, maxLength: 4096 }),
  signature: Type.String({ minLength: 1, maxLength: 4096 }),
});
export type LaunchVerifyRequest = Static<typeof LaunchVerifyRequest>;

/** The NHI fallback (`launchLookup`): the grant comes back with `requiresConfirmation: true`. */
export const LaunchLookupRequest = strict({ nhi: Type.String({ minLength: 7, maxLength: 7 }) });
export type LaunchLookupRequest = Static<typeof LaunchLookupRequest>;

export const LaunchConfirmRequest = strict({ grantId: Type.String({ minLength: 16, maxLength: 128 }) });
export type LaunchConfirmRequest = Static<typeof LaunchConfirmRequest>;

export const LaunchGrant = Type.Object({
  /** Opaque grant id, scoped to this device + facility + patient. Sent with every commit. */
  grantId: Type.String({ minLength: 16, maxLength: 128 }),
  facilityId: Type.String(),
  patient: PatientSummary,
  /** Practitioner id of the GP at the Evolution screen, when known. */
  providerId: Type.Optional(Type.String()),
  issuedAt: DateTime,
  expiresAt: DateTime,
  /** Found by NHI, not handed over by Evolution: unusable until the GP confirms it (`launchConfirm`). */
  requiresConfirmation: Type.Optional(Type.Boolean()),
});
export type LaunchGrant = Static<typeof LaunchGrant>;

// --- commit ----------------------------------------------------------------------------------------

export const CommitTarget = oneOf('media', 'documentReference');
export type CommitTarget = Static<typeof CommitTarget>;

export const MediaPayload = strict({
  contentType: oneOf('image/jpeg', 'image/png'),
  /** base64 of the processed image (< 1 MB decoded). */
  data: Type.String({ minLength: 4, maxLength: 1_500_000 }),
  width: Type.Optional(Type.Integer({ minimum: 1 })),
  height: Type.Optional(Type.Integer({ minimum: 1 })),
});
export type MediaPayload = Static<typeof MediaPayload>;

export const DocumentPayload = strict({
  contentType: oneOf('image/tiff', 'application/pdf'),
  data: Type.String({ minLength: 4, maxLength: 1_500_000 }),
});
export type DocumentPayload = Static<typeof DocumentPayload>;

/**
 * A photo's name, plain text ("Photo 2", or the desktop file's name): no control characters, no path separators,
 * not blank. Never a path. `photoLabelForWire` (shared/photo-label.ts) makes any label fit.
 */
export const PhotoLabel = Type.String({
  minLength: 1,
  maxLength: LIMITS.maxPhotoLabelChars,
  pattern: '^(?!\\s*$)[^\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029/\\\\]+$',
});

/** `imageId` is the Idempotency-Key and the FHIR identifier value of every resource made from it. */
export const CommitRequest = strict({
  imageId: Uuid,
  grantId: Type.String({ minLength: 16, maxLength: 128 }),
  /** The patient the image was captured for; must equal the grant's patient. */
  patientId: Type.String({ minLength: 1, maxLength: 64 }),
  capturedAt: DateTime,
  metadata: ImageMetadata,
  media: Type.Optional(MediaPayload),
  document: Type.Optional(DocumentPayload),
  /** Who captured it on the PC side (free text, e.g. "Phone upload, Room 3"). */
  source: Type.Optional(Type.String({ maxLength: 100 })),
  /** The photo's name shown on the phone and the desktop ("Photo 2", or the file's name): it leads the title in Medtech. */
  label: Type.Optional(PhotoLabel),
  /** A person checked Medtech after ERR_COMMIT_UNCONFIRMED and it is not there. Never set automatically. */
  resendAfterCheck: Type.Optional(Type.Literal(true)),
});
export type CommitRequest = Static<typeof CommitRequest>;

export const CommittedResource = Type.Object({
  resourceType: oneOf('Media', 'DocumentReference'),
  id: Type.String(),
  /** Absolute or relative location ALEX returned. */
  location: Type.Optional(Type.String()),
});
export type CommittedResource = Static<typeof CommittedResource>;

export const CommitResponse = Type.Object({
  imageId: Uuid,
  media: Type.Optional(CommittedResource),
  documentReference: Type.Optional(CommittedResource),
  committedAt: DateTime,
  correlationId: Type.String(),
  replayed: Type.Boolean(),
  /** 'person' when a person confirmed the image is in Medtech (no resource id is known then). */
  confirmedBy: Type.Optional(Type.Literal('person')),
});
export type CommitResponse = Static<typeof CommitResponse>;

export const VerifyResponse = Type.Object({
  imageId: Uuid,
  media: Type.Optional(Type.Object({ id: Type.String(), present: Type.Boolean() })),
  documentReference: Type.Optional(Type.Object({ id: Type.String(), present: Type.Boolean() })),
  checkedAt: DateTime,
});
export type VerifyResponse = Static<typeof VerifyResponse>;

// --- health ----------------------------------------------------------------------------------------

export const HealthResponse = Type.Object({
  status: oneOf('ok', 'degraded', 'unavailable'),
  version: Type.String(),
  checks: Type.Optional(Type.Record(Type.String(), Type.Object({ ok: Type.Boolean(), detail: Type.Optional(Type.String()) }))),
});
export type HealthResponse = Static<typeof HealthResponse>;
