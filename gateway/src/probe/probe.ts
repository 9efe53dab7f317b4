/**
 * `npm run gateway:probe`: which assumptions about ALEX (gateway/src/alex/README.md "Assumptions") hold at a real
 * ALEX for one facility. Read-only unless `write` (labelled test Media to a Z-prefixed test patient). Never prints
 * a token, secret or patient detail.
 */
import { randomUUID } from 'node:crypto';
import { NHI_SYSTEM, isValidNhi, normaliseNhi } from '../../../shared/nhi';
import { IMAGE_IDENTIFIER_SYSTEM } from '../alex/types';

export interface ProbeOptions {
  fhirBaseUrl: string;
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scope: string;
  facilityId: string;
  /** Z-prefixed: the reads look it up; writes (if asked) go to it. */
  testNhi: string;
  write: boolean;
}

export interface ProbeCheck {
  name: string;
  assumption: string;
  /** true: holds; false: does not hold; null: could not be checked (see detail). */
  holds: boolean | null;
  detail: string;
  /** What the gateway does about it. */
  gateway: string;
}

/** A 2×2 JPEG: the smallest image ALEX will take. */
const PROBE_JPEG =
  '/9j/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1RV19iZ2hnPk1xeXBkeFxlZ2P/2wBDARESEhgVGC8aGi9jQjhCY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2P/wAARCAACAAIDASIAAhEBAxEB/8QAFQABAQAAAAAAAAAAAAAAAAAAAAP/xAAUEAEAAAAAAAAAAAAAAAAAAAAA/8QAFQEBAQAAAAAAAAAAAAAAAAAABAX/xAAUEQEAAAAAAAAAAAAAAAAAAAAA/9oADAMBAAIRAxEAPwCAAK6//9k=';
export const PROBE_TITLE = 'ClinicPro Images connection test — please ignore';

type Answer = { status: number; body: unknown };

type Call = (method: 'GET' | 'POST', path: string, options?: { facility?: boolean; body?: unknown; headers?: Record<string, string> }) => Promise<Answer>;

/** A token from the client credentials, or null when refused. */
async function login(o: ProbeOptions): Promise<string | null> {
  const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: o.clientId, client_secret: o.clientSecret, scope: o.scope });
  const res = await fetch(o.tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
  const body = (await res.json().catch(() => ({}))) as { access_token?: unknown };
  return res.status === 200 && typeof body.access_token === 'string' ? body.access_token : null;
}

function caller(o: ProbeOptions, token: string): Call {
  const base = o.fhirBaseUrl.replace(/\/+$/, '');
  return async (method, path, options = {}) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/fhir+json', 'mt-correlationid': randomUUID(), ...options.headers };
    if (options.facility !== false) headers['mt-facilityid'] = o.facilityId;
    if (options.body !== undefined) headers['content-type'] ??= 'application/fhir+json';
    const res = await fetch(`${base}/${path}`, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
    const text = await res.text();
    try {
      return { status: res.status, body: JSON.parse(text) as unknown };
    } catch {
      return { status: res.status, body: text };
    }
  };
}

const entries = (bundle: unknown, type: string): { id?: unknown; identifier?: unknown }[] => {
  const list = (bundle as { entry?: { resource?: { resourceType?: string } }[] } | null)?.entry ?? [];
  return list.map((e) => e.resource).filter((r): r is { resourceType: string } => r?.resourceType === type) as { id?: unknown }[];
};

const check = (name: string, assumption: string, holds: boolean | null, detail: string, gateway: string): ProbeCheck => ({ name, assumption, holds, detail, gateway });

/** The read-only checks: the documented reads the gateway relies on, and the undocumented ones it must not. */
async function readChecks(call: Call, nhiQuery: string): Promise<{ checks: ProbeCheck[]; patientId: string | null }> {
  const checks: ProbeCheck[] = [];
  const patient = await call('GET', `Patient?identifier=${nhiQuery}`);
  const patientId = entries(patient.body, 'Patient')[0]?.id;
  checks.push(check('patientSearch', 'GET /Patient?identifier=<NHI system>|<NHI> finds the test patient', patient.status === 200 && typeof patientId === 'string', `status ${patient.status}`, 'relies on it for the NHI look-up; if it fails, look-ups fail with a plain error'));
  const media = await call('GET', `Media?patient.identifier=${nhiQuery}`);
  checks.push(check('mediaSearch', 'GET /Media?patient.identifier=… answers a Bundle (documented)', media.status === 200, `status ${media.status}`, 'uses it to settle a Media create whose answer was lost; if refused, such a Media stays "not yet confirmed" until a person looks (never resent, never failed)'));
  const docs = await call('GET', `DocumentReference?patient.identifier=${nhiQuery}`);
  checks.push(check('documentReferenceSearch', 'GET /DocumentReference?patient.identifier=… answers (undocumented)', docs.status === 200, `status ${docs.status}`, 'never uses it: an Inbox Scan whose answer was lost waits for a person'));
  const anyMedia = entries(media.body, 'Media')[0]?.id;
  const read = typeof anyMedia === 'string' ? await call('GET', `Media/${encodeURIComponent(anyMedia)}`) : null;
  const readDetail = read === null ? 'no Media on the test patient to read (run with --write first)' : `status ${read.status}`;
  checks.push(check('mediaReadById', 'GET /Media/{id} answers the Media (undocumented; UAT recorded 403)', read === null ? null : read.status === 200, readDetail, 'never uses it'));
  const decode = await call('GET', 'vendorforms/api/getlaunchcontextstring/probe/probe', { facility: false });
  const decodeHolds = decode.status === 403 ? false : decode.status >= 400 && decode.status < 500 ? true : null;
  checks.push(check('launchWithoutFacility', 'the launch decode works without mt-facilityid', decodeHolds, `status ${decode.status} for a made-up pair without mt-facilityid`, 'always sends mt-facilityid on the decode'));
  return { checks, patientId: typeof patientId === 'string' ? patientId : null };
}

function probeMedia(patientId: string, identifierValue: string): Record<string, unknown> {
  return {
    resourceType: 'Media',
    identifier: [{ system: IMAGE_IDENTIFIER_SYSTEM, value: identifierValue }],
    status: 'completed',
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/media-type', code: 'image', display: 'Image' }], text: 'Image' },
    subject: { reference: `Patient/${patientId}` },
    createdDateTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    content: { contentType: 'image/jpeg', data: PROBE_JPEG, title: PROBE_TITLE },
  };
}

const idOf = (a: Answer): string | null => (typeof (a.body as { id?: unknown } | null)?.id === 'string' ? ((a.body as { id: string }).id) : null);

/** The write checks: a few labelled test Media to the test patient. */
async function writeChecks(call: Call, patientId: string, nhiQuery: string): Promise<ProbeCheck[]> {
  const checks: ProbeCheck[] = [];
  const value = `clinicpro-probe-${randomUUID()}`;
  const first = await call('POST', 'Media', { body: probeMedia(patientId, value) });
  const search = await call('GET', `Media?patient.identifier=${nhiQuery}`);
  const seen = entries(search.body, 'Media').some((r) => JSON.stringify(r.identifier ?? '').includes(value));
  checks.push(check('searchFresh', 'a new Media shows in the search at once', first.status === 201 ? seen : null, `create ${first.status}, search ${search.status}`, 'does not rely on it: an empty search proves nothing until ALEX_MAX_PROCESSING_SECONDS after the create'));
  const again = await call('POST', 'Media', { body: probeMedia(patientId, value) });
  const dedup = first.status === 201 && again.status < 300 ? idOf(again) === idOf(first) : null;
  checks.push(check('identifierDeduplication', 'a second create with the same identifier returns the first', dedup, `second create ${again.status}`, 'does not rely on it: never resends a create unless absence is proven or a person asks'));
  const conditional = await call('POST', 'Media', { body: probeMedia(patientId, value), headers: { 'if-none-exist': `identifier=${IMAGE_IDENTIFIER_SYSTEM}|${value}` } });
  checks.push(check('ifNoneExist', 'If-None-Exist (conditional create) is honoured', conditional.status < 300 ? idOf(conditional) === idOf(first) : null, `conditional create ${conditional.status}`, 'does not send it (known races; unknown at ALEX)'));
  const json = await call('POST', 'Media', { body: probeMedia(patientId, `clinicpro-probe-${randomUUID()}`), headers: { 'content-type': 'application/json' } });
  checks.push(check('jsonContentType', 'a create sent as application/json is accepted', json.status === 201 ? true : json.status === 415 ? false : null, `status ${json.status}`, 'always sends application/fhir+json'));
  const extra = await call('POST', 'Media', { body: { ...probeMedia(patientId, `clinicpro-probe-${randomUUID()}`), note: [{ text: PROBE_TITLE }] } });
  checks.push(check('undocumentedElements', 'FHIR elements ALEX does not list (here Media.note) are accepted', extra.status === 201 ? true : extra.status >= 400 && extra.status < 500 ? false : null, `status ${extra.status}`, 'sends only the documented elements; everything a clinician needs is in the title'));
  return checks;
}

export async function runProbe(o: ProbeOptions): Promise<ProbeCheck[]> {
  const nhi = normaliseNhi(o.testNhi);
  if (!isValidNhi(nhi) || !nhi.startsWith('Z')) throw new Error('The probe needs a test patient: a valid Z-prefixed NHI (e.g. ZZZ0016).');
  const token = await login(o);
  if (token === null) return [check('token', 'the client credentials get a token', false, 'the token endpoint refused', 'cannot reach ALEX: check ALEX_TOKEN_URL, ALEX_CLIENT_ID, ALEX_CLIENT_SECRET, ALEX_SCOPE')];
  const nhiQuery = encodeURIComponent(`${NHI_SYSTEM}|${nhi}`);
  const { checks, patientId } = await readChecks(caller(o, token), nhiQuery);
  if (!o.write) return checks;
  if (patientId === null) return [...checks, check('writes', 'test writes', null, 'the test patient was not found: nothing written', 'no write checks ran')];
  return [...checks, ...(await writeChecks(caller(o, token), patientId, nhiQuery))];
}

/** The report as printed: one line per check. */
export function formatProbe(checks: readonly ProbeCheck[]): string {
  const mark = (h: boolean | null): string => (h === true ? 'holds        ' : h === false ? 'DOES NOT HOLD' : 'not checked  ');
  return checks.map((c) => `${mark(c.holds)}  ${c.name}: ${c.assumption} (${c.detail})\n               gateway: ${c.gateway}`).join('\n');
}
