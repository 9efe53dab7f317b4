/** ALEX reads: launch decode, patients, the Media search, the DocumentReference read (only documented shapes). */
import type { PatientSummary } from '../../../shared/contracts/common';
import { AppError } from '../../../shared/errors';
import { NHI_SYSTEM, isValidNhi, normaliseNhi } from '../../../shared/nhi';
import type { AlexExecutor } from './executor';
import { patientNhi, toPatientSummary } from './patient';
import { rec, type AlexCallContext, type DecodedLaunch, type FhirResource } from './types';

export const SAFE_HEADER = /^[A-Za-z0-9._:\-]{1,128}$/;
export const RESOURCE_ID = /^[A-Za-z0-9\-.]{1,64}$/;

export function checkContext(ctx: AlexCallContext): void {
  if (!SAFE_HEADER.test(ctx.facilityId)) throw new AppError('ERR_REQUEST_INVALID', { detail: 'facility id' });
  if (!SAFE_HEADER.test(ctx.correlationId)) throw new AppError('ERR_REQUEST_INVALID', { detail: 'correlation id' });
}

/** The resources of one type in a search Bundle (ALEX may put an OperationOutcome entry in an empty one). */
export function bundleResources(bundle: unknown, resourceType: string): FhirResource[] {
  const b = rec(bundle);
  if (!b || b.resourceType !== 'Bundle' || !Array.isArray(b.entry)) return [];
  return b.entry.map((e) => rec(rec(e)?.resource)).filter((r): r is FhirResource => r?.resourceType === resourceType);
}

export function checkedNhi(nhi: string): string {
  const n = normaliseNhi(nhi);
  if (!isValidNhi(n)) throw new AppError('ERR_REQUEST_INVALID', { detail: 'NHI is not valid' });
  return n;
}

export function nhiQuery(nhi: string): string {
  return encodeURIComponent(`${NHI_SYSTEM}|${nhi}`);
}

const MAX_SEARCH_PAGES = 10;

/** Searches follow `next` links on ALEX's own origin only: the token goes nowhere else. */
export class AlexReads {
  private readonly baseOrigin: string;

  constructor(
    private readonly executor: AlexExecutor,
    private readonly base: string,
  ) {
    this.baseOrigin = new URL(base).origin;
  }

  async search(ctx: AlexCallContext, op: string, path: string, resourceType: string): Promise<FhirResource[]> {
    const out: FhirResource[] = [];
    let url: string | null = `${this.base}/${path}`;
    for (let page = 0; url && page < MAX_SEARCH_PAGES; page++) {
      const res = await this.executor.execute({ op, method: 'GET', url, ctx });
      out.push(...bundleResources(res.data, resourceType));
      url = this.nextLink(res.data);
    }
    return out;
  }

  private nextLink(bundle: unknown): string | null {
    const links = rec(bundle)?.link;
    if (!Array.isArray(links)) return null;
    for (const l of links) {
      const r = rec(l);
      if (r?.relation !== 'next' || typeof r.url !== 'string') continue;
      try {
        const u = new URL(r.url, `${this.base}/`);
        if (u.origin === this.baseOrigin) return u.toString();
      } catch {
        return null;
      }
    }
    return null;
  }

  async decodeLaunch(ctx: AlexCallContext, context: string, signature: string): Promise<DecodedLaunch> {
    checkContext(ctx);
    if (!context || !signature || context.length > 4096 || signature.length > 4096) throw new AppError('ERR_LAUNCH_MALFORMED');
    const url = `${this.base}/vendorforms/api/getlaunchcontextstring/${encodeURIComponent(context)}/${encodeURIComponent(signature)}`;
    let res;
    try {
      res = await this.executor.execute({ op: 'decodeLaunch', method: 'GET', url, ctx });
    } catch (err) {
      if (err instanceof AppError && (err.code === 'ERR_ALEX_REJECTED' || err.code === 'ERR_ALEX_NOT_FOUND')) {
        throw new AppError('ERR_LAUNCH_SIGNATURE', { correlationId: ctx.correlationId });
      }
      throw err;
    }
    return readDecodedLaunch(res.data, ctx.correlationId);
  }

  async getPatient(ctx: AlexCallContext, patientId: string): Promise<PatientSummary> {
    checkContext(ctx);
    if (!RESOURCE_ID.test(patientId)) throw new AppError('ERR_ALEX_PATIENT_NOT_FOUND', { correlationId: ctx.correlationId, detail: 'patient id not valid' });
    const res = await this.executor.execute({ op: 'getPatient', method: 'GET', url: `${this.base}/Patient/${encodeURIComponent(patientId)}`, ctx, accept: [404] });
    if (res.status === 404) throw new AppError('ERR_ALEX_PATIENT_NOT_FOUND', { correlationId: ctx.correlationId });
    const summary = toPatientSummary(res.data);
    if (summary.id !== patientId) throw new AppError('ERR_ALEX_PATIENT_NOT_FOUND', { correlationId: ctx.correlationId, detail: 'ALEX returned another patient' });
    return summary;
  }

  async findPatientByNhi(ctx: AlexCallContext, nhi: string): Promise<PatientSummary | null> {
    checkContext(ctx);
    const n = checkedNhi(nhi);
    const found = await this.search(ctx, 'findPatientByNhi', `Patient?identifier=${nhiQuery(n)}`, 'Patient');
    const matching = found.filter((p) => patientNhi(p) === n);
    if (matching.length === 0) return null;
    const active = matching.filter((p) => p.active !== false);
    const pool = active.length > 0 ? active : matching;
    const ids = new Set(pool.map((p) => p.id));
    if (ids.size > 1) {
      // Two records with one NHI: never guess which person the photo is for.
      throw new AppError('ERR_ALEX_PATIENT_NOT_FOUND', { correlationId: ctx.correlationId, detail: 'more than one patient has this NHI' });
    }
    return toPatientSummary(pool[0]);
  }

  /** `GET /Media?patient.identifier=<NHI system>|<NHI>` (documented), keeping the entry with our identifier. */
  async findMediaByIdentifier(ctx: AlexCallContext, patientNhi: string, identifier: { system: string; value: string }): Promise<FhirResource | null> {
    checkContext(ctx);
    const nhi = checkedNhi(patientNhi);
    const found = await this.search(ctx, 'findMediaByIdentifier', `Media?patient.identifier=${nhiQuery(nhi)}`, 'Media');
    const ours = (i: unknown): boolean => rec(i)?.system === identifier.system && rec(i)?.value === identifier.value;
    return found.find((r) => Array.isArray(r.identifier) && r.identifier.some(ours)) ?? null;
  }

  /** `GET /DocumentReference/{id}` (documented) → the resource, or null on 404. */
  async getDocumentReference(ctx: AlexCallContext, id: string): Promise<FhirResource | null> {
    checkContext(ctx);
    if (!RESOURCE_ID.test(id)) throw new AppError('ERR_REQUEST_INVALID', { detail: 'resource id' });
    const res = await this.executor.execute({ op: 'getDocumentReference', method: 'GET', url: `${this.base}/DocumentReference/${encodeURIComponent(id)}`, ctx, accept: [404] });
    if (res.status === 404) return null;
    const r = rec(res.data);
    if (!r || r.resourceType !== 'DocumentReference') throw new AppError('ERR_ALEX_ERROR', { correlationId: ctx.correlationId, detail: 'unexpected answer' });
    return r as FhirResource;
  }
}

function readDecodedLaunch(data: unknown, correlationId: string): DecodedLaunch {
  const b = rec(data);
  const str = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : null);
  const facilityCode = b ? str(b.facilityCode) : null;
  const createdTime = b ? str(b.createdTime) : null;
  if (!b || !facilityCode || !createdTime || Number.isNaN(Date.parse(createdTime))) {
    throw new AppError('ERR_LAUNCH_MALFORMED', { correlationId, detail: 'launch answer unreadable' });
  }
  const patientId = str(b.patientId);
  const providerId = str(b.providerId);
  if ((patientId && !RESOURCE_ID.test(patientId)) || (providerId && !RESOURCE_ID.test(providerId))) {
    throw new AppError('ERR_LAUNCH_MALFORMED', { correlationId, detail: 'launch ids unreadable' });
  }
  return { patientId, facilityCode, providerId, createdTime };
}
