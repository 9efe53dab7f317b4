/**
 * The probe against the ALEX sandbox over HTTP: each assumption it checks is reported as holding when
 * the sandbox is switched to make it hold, and as not holding in the strict sandbox.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../sandbox';
import type { AssumptionName } from '../sandbox/assumptions';
import { PROBE_TITLE, formatProbe, runProbe, type ProbeCheck } from './probe';

let sandbox: RunningSandbox | null = null;
let now = Date.parse('2026-11-23T00:00:00Z');
afterEach(async () => {
  await sandbox?.close();
  sandbox = null;
});

async function probe(assumptions: Partial<Record<AssumptionName, boolean>>, write: boolean): Promise<Map<string, ProbeCheck>> {
  sandbox ??= await startSandbox({ clock: () => now, assumptions });
  const checks = await runProbe({
    fhirBaseUrl: sandbox.fhirBaseUrl,
    tokenUrl: sandbox.tokenUrl,
    ...sandbox.credentials,
    facilityId: 'F2N060-E',
    testNhi: 'ZZZ0016',
    write,
  });
  return new Map(checks.map((c) => [c.name, c]));
}

/** The assumptions the probe checks, and whether it needs test writes to check each. */
const CHECKED: [AssumptionName, boolean][] = [
  ['documentReferenceSearch', false],
  ['launchWithoutFacility', false],
  ['searchFresh', true],
  ['identifierDeduplication', true],
  ['ifNoneExist', true],
  ['jsonContentType', true],
  ['undocumentedElements', true],
];

describe('gateway:probe against the sandbox', () => {
  it('strict sandbox: every undocumented assumption reported as not holding; the documented reads hold', async () => {
    const r = await probe({}, true);
    for (const [name] of CHECKED) expect(r.get(name)?.holds, name).toBe(false);
    expect(r.get('patientSearch')?.holds).toBe(true);
    expect(r.get('mediaSearch')?.holds).toBe(true);
    expect(formatProbe([...r.values()])).toMatch(/DOES NOT HOLD {2}documentReferenceSearch/);
    // The test writes are labelled and went to the test patient only.
    const written = sandbox!.store.listMedia();
    expect(written.length).toBeGreaterThan(0);
    expect(written.every((m) => (m.resource.content as { title: string }).title === PROBE_TITLE)).toBe(true);
    expect(new Set(written.map((m) => m.patientId))).toEqual(new Set([sandbox!.patients.find((p) => p.nhi === 'ZZZ0016')!.id]));
  });

  it.each(CHECKED)('%s switched on: reported as holding', async (name, write) => {
    const r = await probe({ [name]: true }, write);
    expect(r.get(name)?.holds).toBe(true);
    expect(r.get(name)?.gateway.length).toBeGreaterThan(10);
  });

  it('mediaReadById: 403 in the strict sandbox, holds when switched on (checked on a Media already there)', async () => {
    await probe({}, true);
    now += 60_000; // past the search lag, so the read-only run finds a Media to read
    expect((await probe({}, false)).get('mediaReadById')?.holds).toBe(false);
    sandbox!.assumptions.set({ mediaReadById: true });
    expect((await probe({}, false)).get('mediaReadById')?.holds).toBe(true);
  });

  it('read-only by default: writes nothing; refuses a patient that is not a test patient', async () => {
    await probe({}, false);
    expect(sandbox!.store.listMedia()).toHaveLength(0);
    await expect(runProbe({ fhirBaseUrl: sandbox!.fhirBaseUrl, tokenUrl: sandbox!.tokenUrl, ...sandbox!.credentials, facilityId: 'F2N060-E', testNhi: 'ABC1235', write: true })).rejects.toThrow(/Z-prefixed/);
  });

  it('a refused token is reported, nothing else is tried', async () => {
    sandbox = await startSandbox({ clock: () => now });
    const r = await runProbe({ fhirBaseUrl: sandbox.fhirBaseUrl, tokenUrl: sandbox.tokenUrl, ...sandbox.credentials, clientSecret: 'wrong', facilityId: 'F2N060-E', testNhi: 'ZZZ0016', write: false });
    expect(r.map((c) => [c.name, c.holds])).toEqual([['token', false]]);
  });
});
