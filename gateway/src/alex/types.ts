/**
 * The seam between the gateway's routes and Medtech's ALEX FHIR API.
 * `createAlexClient` (./client.ts) implements it over HTTP: OAuth client credentials with a
 * single-flight token cache, `mt-facilityid` and `mt-correlationid` headers, retry with backoff and
 * jitter honouring Retry-After, a circuit breaker per facility, and error normalisation to shared codes.
 * Every method throws an AppError (shared/errors) with an ERR_ALEX_* code on failure.
 */
import type { PatientSummary } from '../../../shared/contracts/common';
import type { SerializedResource } from '../fhir/serialize';

/** Per-call context: which practice, and the correlation id to forward as `mt-correlationid`. */
export interface AlexCallContext {
  facilityId: string;
  correlationId: string;
  /** Abort the whole call (including retries), e.g. on client disconnect or shutdown. */
  signal?: AbortSignal;
  /**
   * For creates: send all of the body but its last byte, then wait for this before sending that byte
   * (ALEX cannot act on a JSON body it has not fully received). The commit's lease is still reaching the
   * disk while the image travels; if it fails, the request is abandoned unfinished and the call fails
   * with ERR_INTERNAL.
   */
  finishBodyAfter?: Promise<void>;
}

/** What ALEX's vendorforms launch-context endpoint answers. */
export interface DecodedLaunch {
  patientId: string | null;
  facilityCode: string;
  providerId: string | null;
  /** ISO-8601 time Evolution created the launch. */
  createdTime: string;
}

export interface CreatedResource {
  id: string;
  /** The Location header, when ALEX sent one. */
  location?: string;
  /** True when the create was interrupted and the resource was then found at ALEX (not sent again). */
  reconciled?: boolean;
  /** How long the body's last byte waited for `finishBodyAfter` (ms, all attempts): the gateway's time, not ALEX's. */
  heldMs?: number;
}

/**
 * How a create finds out whether an interrupted earlier attempt was stored (ALEX does not deduplicate).
 * Without it, a create whose outcome is unknown is never resent: it fails with a retryable error whose
 * detail is ALEX_OUTCOME_UNKNOWN_DETAIL (see errors.ts `isAlexOutcomeUnknown`).
 */
export interface ReconcileOptions {
  /** The NHI of the patient the resource is for: ALEX searches only by `patient.identifier`. */
  patientNhi: string;
  /** Search before the first send too (set it when an earlier call for this image ended with its outcome unknown). */
  checkFirst?: boolean;
}

/** A FHIR R4 resource as plain JSON (built by gateway/src/fhir). */
export type FhirResource = { resourceType: string } & Record<string, unknown>;

export interface AlexClient {
  /** GET {base}/vendorforms/api/getlaunchcontextstring/{context}/{signature} */
  decodeLaunch(ctx: AlexCallContext, context: string, signature: string): Promise<DecodedLaunch>;
  /** GET {base}/Patient/{id} → banner summary (name, NHI, DOB, sex). */
  getPatient(ctx: AlexCallContext, patientId: string): Promise<PatientSummary>;
  /** GET {base}/Patient?identifier=<nhi-system>|<nhi> → the patient, or null when none. */
  findPatientByNhi(ctx: AlexCallContext, nhi: string): Promise<PatientSummary | null>;
  /** POST {base}/Media → 201. With `reconcile`, an interrupted create is looked for before it is resent. */
  createMedia(ctx: AlexCallContext, media: FhirResource | SerializedResource, reconcile?: ReconcileOptions): Promise<CreatedResource>;
  /** POST {base}/DocumentReference → 201. With `reconcile`, an interrupted create is looked for before it is resent. */
  createDocumentReference(ctx: AlexCallContext, doc: FhirResource | SerializedResource, reconcile?: ReconcileOptions): Promise<CreatedResource>;
  /**
   * GET {base}/Media?patient.identifier=<nhi-system>|<nhi> and keep the entry whose identifier is
   * (system, value). Used to verify a commit and to reconcile an interrupted create before retrying it.
   */
  findMediaByIdentifier(ctx: AlexCallContext, patientNhi: string, identifier: { system: string; value: string }): Promise<FhirResource | null>;
  /**
   * GET {base}/DocumentReference?patient.identifier=<nhi-system>|<nhi> and keep the entry with that
   * identifier (an assumption about ALEX that the sandbox implements). Optional so other implementations stay valid.
   */
  findDocumentReferenceByIdentifier?(ctx: AlexCallContext, patientNhi: string, identifier: { system: string; value: string }): Promise<FhirResource | null>;
  /** GET {base}/DocumentReference/{id} → the resource, or null on 404. */
  getDocumentReference(ctx: AlexCallContext, id: string): Promise<FhirResource | null>;
  /** Ready when a token can be had (cached or fresh) and the breaker is not open for every facility. */
  ready(): Promise<{ ok: boolean; detail?: string }>;
}

/** The identifier system for our image ids on Media and DocumentReference. */
export const IMAGE_IDENTIFIER_SYSTEM = 'https://clinicpro.co.nz/fhir/image-id';
