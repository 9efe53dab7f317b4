/**
 * Public types of the ALEX sandbox: options, the running handle, fault rules and store records.
 * The gateway's ALEX client and the gateway tests are written against these names; keep them stable.
 */
import type { Logger } from 'pino';

import type { Assumptions } from './assumptions';

export type FaultKind = 'latency' | 'status401' | 'status403' | 'status429' | 'status503' | 'status500' | 'drop' | 'timeout' | 'slowCreate' | 'storedThenDropped';

export const FAULT_KINDS: readonly FaultKind[] = ['latency', 'status401', 'status403', 'status429', 'status503', 'status500', 'drop', 'timeout', 'slowCreate', 'storedThenDropped'];

/** One fault-injection rule. A request matches when every given selector matches. */
export interface FaultRule {
  kind: FaultKind;
  /** HTTP method, case-insensitive. Absent: any method. */
  method?: string;
  /** Path prefix (no query). Absent: `/FHIR` (ALEX only). Use the token path (or `/`) to hit the token endpoint. */
  pathPrefix?: string;
  /** Value of `mt-facilityid`. Absent: any facility (and requests without one). */
  facilityId?: string;
  /** Apply this many times, then the rule is spent and removed. Absent: until cleared. */
  times?: number;
  /** Apply with this probability (0..1), drawn from the injected random source. Absent: always. */
  probability?: number;
  /** For `latency`: delay before the request proceeds, ms (default 1000). */
  latencyMs?: number;
  /** For `status429` / `status503`: the Retry-After header, seconds (429 default 2; 503 sends none unless set). */
  retryAfterSeconds?: number;
  /**
   * For `slowCreate`: the create is stored this long after it arrived (ms, through the injected sleep) —
   * a practice's Evolution behind a slow Hybrid Connection. On other routes it delays like `latency`.
   */
  storeAfterMs?: number;
  /** For `slowCreate`: the answer goes this long after arrival (ms, ≥ storeAfterMs). Absent: never answered. */
  answerAfterMs?: number;
  /**
   * 'before' (default): the fault replaces the request; nothing is processed.
   * 'after': on POST /FHIR/Media and /FHIR/DocumentReference the create is processed (and stored when valid),
   * then its answer is delayed, replaced or lost: the "did it commit?" case. Elsewhere the same as 'before'.
   */
  when?: 'before' | 'after';
}

/** A rule as held by the controller: with its id and how often it has fired. */
export interface ActiveFaultRule extends FaultRule {
  id: string;
  applied: number;
}

export interface FaultController {
  /** Add a rule (validated; throws AppError ERR_REQUEST_INVALID on a bad rule). Returns its id. */
  add(rule: FaultRule): string;
  /** Remove one rule. Returns false when no such rule. */
  remove(id: string): boolean;
  /** Remove every rule. */
  clear(): void;
  /** The rules still active, in match order. */
  list(): readonly ActiveFaultRule[];
}

export type Sex = 'male' | 'female' | 'other' | 'unknown';

export interface SandboxPatient {
  /** FHIR Patient.id */
  id: string;
  nhi: string;
  familyName: string;
  givenName: string;
  /** YYYY-MM-DD */
  birthDate: string;
  sex: Sex;
  /** Facilities whose Evolution holds this patient. Absent: every facility of the sandbox. */
  facilities?: readonly string[];
}

export interface SandboxPractitioner {
  id: string;
  familyName: string;
  givenName: string;
  /** HPI person id (test value). */
  hpiPersonId: string;
}

export interface SandboxCredentials {
  clientId: string;
  clientSecret: string;
  /** `api://<app-guid>/.default` */
  scope: string;
}

export interface TokenThrottle {
  /** Token requests allowed per window; the next one gets 429 with Retry-After. */
  maxRequests: number;
  windowSeconds: number;
}

export interface SandboxOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (ephemeral). */
  port?: number;
  /** Milliseconds since the epoch. Default Date.now. Token expiry and resource timestamps follow it. */
  clock?: () => number;
  /** Uniform [0, 1). Default Math.random. Drives fault probabilities. */
  random?: () => number;
  /** Random bytes for ids, tokens and the launch key. Default crypto.randomBytes. */
  randomBytes?: (size: number) => Buffer;
  /** How `latency` faults wait. Default a real timer; inject to test without waiting. */
  sleep?: (ms: number) => Promise<void>;
  /** Default 3599. */
  tokenLifetimeSeconds?: number;
  /** Default { maxRequests: 60, windowSeconds: 60 }; `false` disables throttling. */
  tokenThrottle?: TokenThrottle | false;
  /** Azure AD tenant in the token path. Default a fixed sandbox GUID. */
  tenantId?: string;
  /** Facilities (mt-facilityid values) this app profile is mapped to. Default ['F2N060-E', 'F99669-C']. */
  facilities?: readonly string[];
  /** Default fixed, non-secret sandbox values (see defaults.ts). */
  credentials?: SandboxCredentials;
  /** Largest decoded attachment is maxAttachmentBytes - 1 (the rule is "size < limit"). Default 1_000_000. */
  maxAttachmentBytes?: number;
  /** Default a silent pino logger. */
  logger?: Logger;
  /** Default the seed patients in seed.ts. */
  patients?: readonly SandboxPatient[];
  /** Default the seed practitioners in seed.ts. */
  practitioners?: readonly SandboxPractitioner[];
  /** Secret the launch keys derive from. Default random per sandbox (pairs do not survive a restart). */
  launchSecret?: string;
  /** Whether the launch decode call needs `mt-facilityid` (unknown for real ALEX). Default false. */
  launchRequiresFacility?: boolean;
  /**
   * Absolute FHIR bases accepted in DocumentReference.subject/author besides ALEX UAT, ALEX production and the
   * base the request itself came to (`http://<Host>/FHIR`).
   */
  extraAbsoluteBases?: readonly string[];
  /** Fault rules active from the start. */
  faults?: readonly FaultRule[];
  /** Named assumptions to switch on (./assumptions.ts). Absent: all off (strict, as `npm start` and the tests run). */
  assumptions?: Partial<Assumptions>;
  /** While `searchFresh` is off, a created resource shows in searches only this long after it was stored. Default 60. */
  searchLagSeconds?: number;
  /**
   * What a created resource keeps of its attachment. `'bytes'` (default): the decoded bytes, and the
   * resource as posted. `'digest'`: only `size` and `sha256`; `bytes` is empty and the stored resource (what
   * GET and searches answer) has no `data` — for long load runs that must not hold every image in memory.
   */
  attachments?: 'bytes' | 'digest';
}

export interface StoredResource {
  id: string;
  resourceType: 'Media' | 'DocumentReference';
  facilityId: string;
  patientId: string;
  /** identifier[0] as posted. */
  identifier: { system: string; value: string };
  contentType: string;
  /** The decoded attachment (empty with `attachments: 'digest'`). */
  bytes: Buffer;
  /** Decoded attachment size in bytes. */
  size: number;
  /** sha256 of the decoded attachment, hex. */
  sha256: string;
  /** Clock time of creation, ms. */
  createdAt: number;
  /** The resource as stored (with id and meta), as GET returns it. */
  resource: Record<string, unknown> & { resourceType: string; id: string };
}

export interface StoredResourceFilter {
  facilityId?: string;
  patientId?: string;
  /** Matches identifier[0].value. */
  identifierValue?: string;
}

export interface SandboxCounters {
  /** Every POST to the token endpoint (throttled and refused ones included). */
  tokenRequests: number;
  tokensIssued: number;
  /** Every POST /FHIR/Media that reached the handler (rejected ones included). */
  mediaCreateCalls: number;
  mediaCreated: number;
  documentReferenceCreateCalls: number;
  documentReferencesCreated: number;
  launchDecodes: number;
  /** `${METHOD} ${route pattern}` → count, counted before faults apply (so retries show). */
  requestsByRoute: Record<string, number>;
  /** Fault kind → times applied. */
  faultsApplied: Record<string, number>;
}

export interface SandboxRequestRecord {
  at: number;
  method: string;
  /** Path without the query string (queries may hold NHIs). */
  path: string;
  route: string;
  facilityId: string | null;
  correlationId: string | null;
  status: number | null;
}

export interface SandboxStore {
  listMedia(filter?: StoredResourceFilter): readonly StoredResource[];
  listDocumentReferences(filter?: StoredResourceFilter): readonly StoredResource[];
  /** A snapshot of the counters. */
  readonly counters: SandboxCounters;
  /** The last 1000 requests (path without query), oldest first. */
  requests(): readonly SandboxRequestRecord[];
  /** Forget every created resource, counter, request record, issued token and the token throttle window. Faults are kept. */
  reset(): void;
}

export interface LaunchInput {
  patientId: string | null;
  facilityCode: string;
  /** Absent: the first practitioner. null: no provider. */
  providerId?: string | null;
  /** Default: now by the injected clock. */
  createdTime?: Date;
}

export interface LaunchPair {
  context: string;
  signature: string;
}

/** What the sandbox exposes in-process (also decorated on the Fastify app as `sandbox`). */
export interface SandboxHandle {
  tenantId: string;
  tokenPath: string;
  credentials: SandboxCredentials;
  faults: FaultController;
  store: SandboxStore;
  issueLaunch(input: LaunchInput): LaunchPair;
  patients: readonly SandboxPatient[];
  practitioners: readonly SandboxPractitioner[];
  facilities: readonly string[];
  /** Make every issued token unknown (the next ALEX call gets 401). */
  revokeTokens(): void;
  /** The named assumptions in force (all off unless switched on), and switching them. */
  assumptions: { get(): Assumptions; set(change: Partial<Assumptions>): void };
}

export interface RunningSandbox extends SandboxHandle {
  /** e.g. http://127.0.0.1:4010 */
  url: string;
  /** `${url}/FHIR` */
  fhirBaseUrl: string;
  /** `${url}/<tenant>/oauth2/v2.0/token` */
  tokenUrl: string;
  port: number;
  close(): Promise<void>;
}
