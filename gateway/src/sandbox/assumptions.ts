/**
 * Every behaviour ALEX's documents do not establish is a named assumption, OFF by default (strict): the sandbox
 * answers as the least friendly ALEX the documents allow. What the gateway does about each: ../alex/README.md.
 */
import { AppError } from '../../../shared/errors';

export const ASSUMPTIONS = {
  documentReferenceSearch: 'GET /DocumentReference?patient.identifier=… answers a Bundle (off: 403 Authorization failed — only the read by id is documented)',
  mediaReadById: 'GET /Media/{id} answers the Media (off: 403 — UAT recorded Media as write-only)',
  jsonContentType: 'a create sent as application/json is accepted (off: 415 — only application/fhir+json is documented)',
  undocumentedElements: 'valid FHIR R4 elements that ALEX.md does not list are accepted (off: 400 — they may be refused)',
  identifierDeduplication: 'a second create with the same identifier returns the first resource (off: a second resource is created)',
  ifNoneExist: 'If-None-Exist (conditional create) is honoured (off: the header is ignored and a duplicate is created)',
  launchWithoutFacility: 'the launch decode works without mt-facilityid (off: 403 without it)',
  searchFresh: 'a created resource shows in searches at once (off: only after searchLagSeconds)',
} as const;

export type AssumptionName = keyof typeof ASSUMPTIONS;
export type Assumptions = Record<AssumptionName, boolean>;

export const ASSUMPTION_NAMES = Object.keys(ASSUMPTIONS) as AssumptionName[];

export function strictAssumptions(): Assumptions {
  return Object.fromEntries(ASSUMPTION_NAMES.map((n) => [n, false])) as Assumptions;
}

/** Validate an untrusted `{ name: boolean }` (HTTP, env). Throws ERR_REQUEST_INVALID naming the bad key. */
export function parseAssumptions(input: unknown): Partial<Assumptions> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new AppError('ERR_REQUEST_INVALID', { detail: 'Assumptions: expected an object' });
  const out: Partial<Assumptions> = {};
  for (const [key, value] of Object.entries(input as Record<string, unknown>)) {
    if (!(ASSUMPTION_NAMES as string[]).includes(key)) throw new AppError('ERR_REQUEST_INVALID', { detail: `Assumptions: unknown ${key}` });
    if (typeof value !== 'boolean') throw new AppError('ERR_REQUEST_INVALID', { detail: `Assumptions: ${key} must be true or false` });
    out[key as AssumptionName] = value;
  }
  return out;
}
