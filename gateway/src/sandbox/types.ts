/**
 * Public types of the ALEX sandbox (README "Use", "Fault injection", "Store"). The gateway's ALEX client and
 * the gateway tests are written against these names; keep them stable (change only by adding).
 */
import type { Logger } from 'pino';

import type { Assumptions } from './assumptions';

export const FAULT_KINDS = ['latency', 'status401', 'status403', 'status429', 'status503', 'status500', 'drop', 'timeout', 'slowCreate', 'storedThenDropped'] as const;

export type FaultKind = (typeof FAULT_KINDS)[number];

/** A rule's optional fields and their bounds: a string's longest length; a number's [min, max, integer]. */
export const FAULT_RULE_STRINGS = { method: 10, pathPrefix: 300, facilityId: 50 } as const;
export const FAULT_RULE_NUMBERS = {
  times: [1, 1_000_000, true],
  probability: [0, 1, false],
  latencyMs: [0, 600_000, true],
  retryAfterSeconds: [0, 86_400, true],
  storeAfterMs: [0, 86_400_000, true],
  answerAfterMs: [0, 86_400_000, true],
} as const;

/** A request matches when every given selector matches; README "Fault injection" says what each field does. */
export type FaultRule = { kind: FaultKind; when?: 'before' | 'after' } & { -readonly [K in keyof typeof FAULT_RULE_STRINGS]?: string } & {
  -readonly [K in keyof typeof FAULT_RULE_NUMBERS]?: number;
};

export interface ActiveFaultRule extends FaultRule {
  id: string;
  applied: number;
}

export interface FaultController {
  /** Validates the rule (AppError ERR_REQUEST_INVALID on a bad one); returns its id. */
  add(rule: FaultRule): string;
  remove(id: string): boolean;
  clear(): void;
  /** The rules still active, in match order. */
  list(): readonly ActiveFaultRule[];
}

export interface SandboxPatient {
  id: string;
  nhi: string;
  familyName: string;
  givenName: string;
  /** YYYY-MM-DD */
  birthDate: string;
  sex: 'male' | 'female' | 'other' | 'unknown';
  /** Facilities whose Evolution holds this patient. Absent: every facility of the sandbox. */
  facilities?: readonly string[];
}

export interface SandboxPractitioner {
  id: string;
  familyName: string;
  givenName: string;
  hpiPersonId: string;
}

export interface SandboxCredentials {
  clientId: string;
  clientSecret: string;
  scope: string;
}

/** All optional; defaults in README "Use". */
export interface SandboxOptions {
  host?: string;
  port?: number;
  /** Milliseconds since the epoch. Token expiry and resource timestamps follow it. */
  clock?: () => number;
  /** Uniform [0, 1): drives fault probabilities. */
  random?: () => number;
  /** How latency and slow-create faults wait. */
  sleep?: (ms: number) => Promise<void>;
  /** Azure AD's limit on token requests (default 60 per 60 s), or none. */
  tokenThrottle?: { maxRequests: number; windowSeconds: number } | false;
  facilities?: readonly string[];
  credentials?: SandboxCredentials;
  /** The largest decoded attachment accepted is maxAttachmentBytes - 1. */
  maxAttachmentBytes?: number;
  logger?: Logger;
  /** Absent: random per sandbox (launch pairs do not survive a restart). */
  launchSecret?: string;
  faults?: readonly FaultRule[];
  /** Absent: all off (strict). */
  assumptions?: Partial<Assumptions>;
  searchLagSeconds?: number;
  /** 'digest': keep only `size` and `sha256` of attachments (load runs), and answer resources without `data`. */
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
  size: number;
  sha256: string;
  /** Clock time of creation, ms. */
  createdAt: number;
  /** As GET returns it. */
  resource: Record<string, unknown> & { resourceType: string; id: string };
}

export interface StoredResourceFilter {
  facilityId?: string;
  patientId?: string;
  /** Matches identifier[0].value. */
  identifierValue?: string;
}

/** Requests are counted as they arrive (rejected, throttled and faulted ones included). */
export const COUNTER_NAMES = ['tokenRequests', 'tokensIssued', 'mediaCreateCalls', 'mediaCreated', 'documentReferenceCreateCalls', 'documentReferencesCreated', 'launchDecodes'] as const;

/** `requestsByRoute`: `${METHOD} ${route pattern}` → count, counted before faults apply (so retries show). */
export type SandboxCounters = Record<(typeof COUNTER_NAMES)[number], number> & { requestsByRoute: Record<string, number>; faultsApplied: Record<string, number> };

export interface SandboxRequestRecord {
  at: number;
  method: string;
  /** Without the query string (queries may hold NHIs). */
  path: string;
  route: string;
  facilityId: string | null;
  correlationId: string | null;
  status: number | null;
}

export interface SandboxStore {
  listMedia(filter?: StoredResourceFilter): readonly StoredResource[];
  listDocumentReferences(filter?: StoredResourceFilter): readonly StoredResource[];
  readonly counters: SandboxCounters;
  /** The last 1000 requests, oldest first. */
  requests(): readonly SandboxRequestRecord[];
  /** Forget every created resource, counter, request record, issued token and the token throttle window. Faults are kept. */
  reset(): void;
}

export interface LaunchInput {
  patientId: string | null;
  facilityCode: string;
  /** Absent: the first practitioner. null: no provider. */
  providerId?: string | null;
  /** Absent: now by the injected clock. */
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
  assumptions: { get(): Assumptions; set(change: Partial<Assumptions>): void };
}

export interface RunningSandbox extends SandboxHandle {
  url: string;
  fhirBaseUrl: string;
  tokenUrl: string;
  port: number;
  close(): Promise<void>;
}
