import { Type, type Static, type TLiteral, type TProperties, type TUnion } from '@sinclair/typebox';
import { CONSENTS, IMAGE_TYPES, LATERALITIES, VIEWS } from '../coded/values';
import { ALL_ERROR_CODES, type ErrorAction } from '../errors/codes';
import { LIMITS } from '../limits';

export const oneOf = <const T extends readonly string[]>(...values: T): TUnion<TLiteral<T[number]>[]> =>
  Type.Union(values.map((v) => Type.Literal(v))) as TUnion<TLiteral<T[number]>[]>;

/** An object that refuses properties it does not name. */
export const strict = <T extends TProperties>(properties: T) => Type.Object(properties, { additionalProperties: false });

/** A v4 UUID, lower-case: image ids, correlation ids. */
export const Uuid = Type.String({ pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$', maxLength: 36 });

export const DateTime = Type.String({ format: 'date-time', maxLength: 40 });

/** The wire form of an error, on every HTTP surface and across the bridge. Never carries a stack. */
export const ErrorBodySchema = Type.Object({
  code: Type.Union(ALL_ERROR_CODES.map((c) => Type.Literal(c))),
  message: Type.String({ maxLength: 1000 }),
  action: oneOf<ErrorAction[]>('retry', 'wait', 'relaunch', 'fix-input', 'rescan', 'enrol', 'check-medtech', 'support'),
  retryable: Type.Boolean(),
  /** Reference the user can quote to support; also in the server logs. */
  correlationId: Type.Optional(Type.String({ maxLength: 100 })),
  /** Seconds to wait before retrying, when the other side said so. */
  retryAfterSeconds: Type.Optional(Type.Number({ minimum: 0 })),
  /** Safe, non-patient detail (e.g. which field was missing). */
  detail: Type.Optional(Type.String({ maxLength: 1000 })),
});

export const LateralityKeySchema = Type.Union(LATERALITIES.map((l) => Type.Literal(l.key)));
export const ViewKeySchema = Type.Union(VIEWS.map((v) => Type.Literal(v.key)));
export const ImageTypeKeySchema = Type.Union(IMAGE_TYPES.map((t) => Type.Literal(t.key)));
export const ConsentKeySchema = Type.Union(CONSENTS.map((c) => Type.Literal(c.key)));

/** Clinical metadata a GP or nurse attaches to one image. All optional at capture; the UI enforces what a practice requires. */
export const ImageMetadata = strict({
  /** SNOMED CT body structure code from shared/coded (BODY_SITES). */
  bodySiteCode: Type.Optional(Type.String({ pattern: '^[0-9]{6,18}$' })),
  laterality: Type.Optional(LateralityKeySchema),
  view: Type.Optional(ViewKeySchema),
  imageType: Type.Optional(ImageTypeKeySchema),
  caption: Type.Optional(Type.String({ maxLength: LIMITS.maxCaptionChars })),
  /** The patient's consent to this photo (shared/coded CONSENTS); required before sending when the practice says so. */
  consent: Type.Optional(ConsentKeySchema),
});
export type ImageMetadata = Static<typeof ImageMetadata>;

/** What the banner shows, and what every image is bound to. */
export const PatientSummary = strict({
  /** FHIR Patient.id in ALEX. */
  id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9\\-.]{1,64}$' }),
  nhi: Type.String({ pattern: '^[A-Z]{3}[0-9]{2}[0-9A-Z]{2}$' }),
  familyName: Type.String({ maxLength: 100 }),
  givenName: Type.String({ maxLength: 100 }),
  birthDate: Type.String({ pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' }),
  sex: oneOf('male', 'female', 'other', 'unknown'),
});
export type PatientSummary = Static<typeof PatientSummary>;
