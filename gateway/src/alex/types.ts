/** The seam between the gateway's routes and ALEX. Every method throws an AppError with an ERR_ALEX_* code on failure. */
import type { PatientSummary } from '../../../shared/contracts/common';
import type { SerializedResource } from '../fhir/serialize';

/** Per-call context: which practice, and the correlation id to forward as `mt-correlationid`. */
export interface AlexCallContext {
  facilityId: string;
  correlationId: string;
  /** Abort the whole call (including retries), e.g. on client disconnect or shutdown. */
  signal?: AbortSignal;
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
  /** POST {base}/Media → 201; once a byte may have reached ALEX, any failure is ERR_ALEX_OUTCOME_UNKNOWN. */
  createMedia(ctx: AlexCallContext, media: FhirResource | SerializedResource): Promise<CreatedResource>;
  /** POST {base}/DocumentReference → 201. The same rule as createMedia. */
  createDocumentReference(ctx: AlexCallContext, doc: FhirResource | SerializedResource): Promise<CreatedResource>;
  /** GET {base}/Media?patient.identifier=<nhi-system>|<nhi>, the entry with this identifier: the one documented search. */
  findMediaByIdentifier(ctx: AlexCallContext, patientNhi: string, identifier: { system: string; value: string }): Promise<FhirResource | null>;
  /** GET {base}/DocumentReference/{id} → the resource, or null on 404. */
  getDocumentReference(ctx: AlexCallContext, id: string): Promise<FhirResource | null>;
  /** Ready when a token can be had (cached or fresh) and the breaker is not open for every facility. */
  ready(): Promise<{ ok: boolean; detail?: string }>;
}

/** `v` when it is a JSON object (not an array), else null. */
export const rec = (v: unknown): Record<string, unknown> | null =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;

/** The identifier system for our image ids on Media and DocumentReference. */
export const IMAGE_IDENTIFIER_SYSTEM = 'https://clinicpro.co.nz/fhir/image-id';
