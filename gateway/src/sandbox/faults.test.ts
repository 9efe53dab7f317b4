import { afterEach, describe, expect, it, vi } from 'vitest';
import { AppError } from '../../../shared/errors';
import { createFaultEngine, parseFaultRule, parseFaultRules } from './faults';
import { startSandbox } from './index';
import { accessToken, documentReferenceBody, fetchToken, fhir, makeAttachments, mediaBody } from './test-support';
import type { RunningSandbox, SandboxOptions } from './types';

let sandbox: RunningSandbox | null = null;
afterEach(async () => {
  await sandbox?.close();
  sandbox = null;
});

async function start(options: SandboxOptions = {}): Promise<{ sb: RunningSandbox; token: string }> {
  sandbox = await startSandbox(options);
  return { sb: sandbox, token: await accessToken(sandbox) };
}

describe('parseFaultRule', () => {
  it.each([
    ['not an object', 'status503'],
    ['an array', []],
    ['an unknown kind', { kind: 'status418' }],
    ['an unknown field', { kind: 'drop', path: '/FHIR' }],
    ['probability above 1', { kind: 'drop', probability: 1.5 }],
    ['times 0', { kind: 'drop', times: 0 }],
    ['fractional times', { kind: 'drop', times: 1.5 }],
    ['a relative pathPrefix', { kind: 'drop', pathPrefix: 'FHIR' }],
    ['negative latency', { kind: 'latency', latencyMs: -1 }],
    ['an empty method', { kind: 'drop', method: '' }],
    ['an unknown when', { kind: 'drop', when: 'during' }],
  ])('refuses %s with ERR_REQUEST_INVALID', (_name, input) => {
    expect(() => parseFaultRule(input)).toThrow(AppError);
    try {
      parseFaultRule(input);
    } catch (err) {
      expect((err as AppError).code).toBe('ERR_REQUEST_INVALID');
      expect((err as AppError).detail).toMatch(/^Fault rule: /);
    }
  });

  it('normalises the method and keeps the selectors', () => {
    expect(parseFaultRule({ kind: 'status429', method: 'post', pathPrefix: '/FHIR/Media', retryAfterSeconds: 30 })).toEqual({
      kind: 'status429',
      method: 'POST',
      pathPrefix: '/FHIR/Media',
      retryAfterSeconds: 30,
    });
  });

  it('parses one rule or an array from JSON and refuses bad JSON', () => {
    expect(parseFaultRules('{"kind":"drop"}')).toEqual([{ kind: 'drop' }]);
    expect(parseFaultRules('[{"kind":"drop"},{"kind":"timeout","times":1}]')).toHaveLength(2);
    expect(() => parseFaultRules('[{"kind":')).toThrow(AppError);
  });
});

describe('fault engine', () => {
  const req = { method: 'GET', path: '/FHIR/Patient', facilityId: 'F2N060-E' };

  it('retires a rule after `times` applications', () => {
    let n = 0;
    const engine = createFaultEngine(Math.random, () => `r${++n}`);
    engine.add({ kind: 'status503', times: 2 });
    expect(engine.take(req).map((r) => r.kind)).toEqual(['status503']);
    expect(engine.list()[0]?.times).toBe(1);
    expect(engine.take(req)).toHaveLength(1);
    expect(engine.take(req)).toHaveLength(0);
    expect(engine.list()).toHaveLength(0);
  });

  it('fires latency rules and then the first terminal rule only', () => {
    let n = 0;
    const engine = createFaultEngine(Math.random, () => `r${++n}`);
    engine.add({ kind: 'latency', latencyMs: 5 });
    engine.add({ kind: 'status429' });
    engine.add({ kind: 'status503' });
    expect(engine.take(req).map((r) => r.kind)).toEqual(['latency', 'status429']);
  });

  it('draws probability from the injected random source, and does not spend `times` on a miss', () => {
    const draws = [0.9, 0.2];
    let n = 0;
    const engine = createFaultEngine(() => draws.shift() ?? 1, () => `r${++n}`);
    engine.add({ kind: 'drop', probability: 0.5, times: 1 });
    expect(engine.take(req)).toHaveLength(0);
    expect(engine.list()[0]?.times).toBe(1);
    expect(engine.take(req)).toHaveLength(1);
    expect(engine.list()).toHaveLength(0);
  });

  it('matches method, path prefix (default /FHIR) and facility', () => {
    let n = 0;
    const engine = createFaultEngine(Math.random, () => `r${++n}`);
    engine.add({ kind: 'drop', method: 'POST', facilityId: 'F99669-C' });
    expect(engine.take({ method: 'POST', path: '/FHIR/Media', facilityId: 'F2N060-E' })).toHaveLength(0);
    expect(engine.take({ method: 'GET', path: '/FHIR/Media', facilityId: 'F99669-C' })).toHaveLength(0);
    expect(engine.take({ method: 'POST', path: '/tenant/oauth2/v2.0/token', facilityId: 'F99669-C' })).toHaveLength(0);
    expect(engine.take({ method: 'POST', path: '/FHIR/Media', facilityId: 'F99669-C' })).toHaveLength(1);
  });
});

describe('faults over real HTTP', () => {
  it('status503 looks like the Hybrid Connection being down, for that facility only', async () => {
    const { sb, token } = await start();
    sb.faults.add({ kind: 'status503', facilityId: 'F99669-C', retryAfterSeconds: 30 });
    const down = await fhir(sb, '/Location', { token, facility: 'F99669-C' });
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toBe('30');
    const body = (await down.json()) as { resourceType: string; issue: { code: string; diagnostics: string }[] };
    expect(body.resourceType).toBe('OperationOutcome');
    expect(body.issue[0]?.code).toBe('transient');
    expect(body.issue[0]?.diagnostics).toMatch(/hybrid connection/);
    expect((await fhir(sb, '/Location', { token, facility: 'F2N060-E' })).status).toBe(200);
    expect(sb.store.counters.faultsApplied).toEqual({ status503: 1 });
  });

  it('status401 once, then the same token works (a stale-token blip)', async () => {
    const { sb, token } = await start();
    sb.faults.add({ kind: 'status401', times: 1 });
    const res = await fhir(sb, '/Location', { token });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/invalid_token/);
    expect((await fhir(sb, '/Location', { token })).status).toBe(200);
  });

  it('status429 sends Retry-After (default 2 s) with an OperationOutcome', async () => {
    const { sb, token } = await start();
    sb.faults.add({ kind: 'status429', times: 1 });
    const res = await fhir(sb, '/Location', { token });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(((await res.json()) as { issue: { code: string }[] }).issue[0]?.code).toBe('throttled');
  });

  it('status500 answers plain text, not JSON', async () => {
    const { sb, token } = await start();
    sb.faults.add({ kind: 'status500', times: 1 });
    const res = await fhir(sb, '/Location', { token });
    expect(res.status).toBe(500);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await res.text()).toBe('An error occurred while processing your request.');
  });

  it('a POST /Media fault leaves reads alone and stores nothing', async () => {
    const { sb, token } = await start();
    const { jpeg } = await makeAttachments();
    const patientId = sb.patients[0]!.id;
    sb.faults.add({ kind: 'status503', method: 'POST', pathPrefix: '/FHIR/Media' });
    expect((await fhir(sb, '/Media', { token, method: 'POST', body: mediaBody(patientId, jpeg) })).status).toBe(503);
    expect((await fhir(sb, `/Patient/${patientId}`, { token })).status).toBe(200);
    expect(sb.store.listMedia()).toHaveLength(0);
    expect(sb.store.counters.mediaCreateCalls).toBe(0);
    expect(sb.store.counters.requestsByRoute['POST /FHIR/Media']).toBe(1);
  });

  it('drop closes the socket without a response, and nothing is stored', async () => {
    const { sb, token } = await start();
    const { jpeg } = await makeAttachments();
    sb.faults.add({ kind: 'drop', method: 'POST', times: 1 });
    await expect(fhir(sb, '/Media', { token, method: 'POST', body: mediaBody(sb.patients[0]!.id, jpeg) })).rejects.toThrow();
    expect(sb.store.listMedia()).toHaveLength(0);
    expect(sb.store.counters.faultsApplied).toEqual({ drop: 1 });
    expect((await fhir(sb, '/Media', { token, method: 'POST', body: mediaBody(sb.patients[0]!.id, jpeg) })).status).toBe(201);
  });

  it('timeout never answers; close() ends the held connection', async () => {
    const { sb, token } = await start();
    sb.faults.add({ kind: 'timeout' });
    let settled = false;
    const pending = fhir(sb, '/Location', { token }).finally(() => {
      settled = true;
    });
    await vi.waitFor(() => expect(sb.store.counters.faultsApplied.timeout).toBe(1));
    expect(settled).toBe(false);
    await sb.close();
    await expect(pending).rejects.toThrow();
  });

  it('latency waits through the injected sleep, then proceeds', async () => {
    let release: () => void = () => undefined;
    const waits: number[] = [];
    const { sb, token } = await start({
      sleep: (ms) => {
        waits.push(ms);
        return new Promise<void>((resolve) => {
          release = resolve;
        });
      },
    });
    sb.faults.add({ kind: 'latency', latencyMs: 5000, times: 1 });
    let settled = false;
    const pending = fhir(sb, '/Location', { token }).finally(() => {
      settled = true;
    });
    await vi.waitFor(() => expect(waits).toEqual([5000]));
    expect(settled).toBe(false);
    release();
    expect((await pending).status).toBe(200);
  });

  it('probability uses the injected random source', async () => {
    const draws = [0.7, 0.3];
    const { sb, token } = await start({ random: () => draws.shift() ?? 0.99 });
    sb.faults.add({ kind: 'status503', probability: 0.5 });
    expect((await fhir(sb, '/Location', { token })).status).toBe(200);
    expect((await fhir(sb, '/Location', { token })).status).toBe(503);
    expect((await fhir(sb, '/Location', { token })).status).toBe(200);
  });

  it('reaches the token endpoint only when pathPrefix says so, answering in Azure AD shape', async () => {
    const { sb } = await start();
    sb.faults.add({ kind: 'status503' });
    expect((await fetchToken(sb)).status).toBe(200);
    sb.faults.clear();
    sb.faults.add({ kind: 'status429', pathPrefix: sb.tokenPath, retryAfterSeconds: 60, times: 1 });
    const res = await fetchToken(sb);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('60');
    expect(((await res.json()) as { error: string }).error).toBe('temporarily_unavailable');
    expect(sb.store.counters.tokensIssued).toBe(2);
    sb.faults.add({ kind: 'status401', pathPrefix: '/', times: 1 });
    expect(((await (await fetchToken(sb)).json()) as { error: string }).error).toBe('invalid_client');
  });

  it("when:'after' stores the Media, then loses the answer (drop): the create did happen", async () => {
    let now = Date.parse('2026-11-23T00:00:00Z');
    const { sb, token } = await start({ clock: () => now });
    const { jpeg } = await makeAttachments();
    sb.faults.add({ kind: 'drop', method: 'POST', pathPrefix: '/FHIR/Media', when: 'after', times: 1 });
    await expect(fhir(sb, '/Media', { token, method: 'POST', body: mediaBody(sb.patients[0]!.id, jpeg, 'lost-answer') })).rejects.toThrow();
    expect(sb.store.listMedia({ identifierValue: 'lost-answer' })).toHaveLength(1);
    // Strict: a new resource shows in searches only after the search lag (freshness is not documented).
    const search = () => fhir(sb, `/Media?patient.identifier=${encodeURIComponent(`https://standards.digital.health.nz/ns/nhi-id|${sb.patients[0]!.nhi}`)}`, { token });
    expect(((await (await search()).json()) as { total: number }).total).toBe(0);
    now += 60_000;
    expect(((await (await search()).json()) as { total: number }).total).toBe(1);
  });

  it("when:'after' answers 503 for a DocumentReference that was stored, and 'before' stores nothing", async () => {
    const { sb, token } = await start();
    const { pdf } = await makeAttachments();
    const body = documentReferenceBody(sb.fhirBaseUrl, sb.patients[0]!.id, sb.practitioners[0]!.id, { contentType: 'application/pdf', bytes: pdf });
    sb.faults.add({ kind: 'status503', when: 'after', times: 1 });
    expect((await fhir(sb, '/DocumentReference', { token, method: 'POST', body })).status).toBe(503);
    expect(sb.store.listDocumentReferences()).toHaveLength(1);
    sb.faults.add({ kind: 'status503', when: 'before', times: 1 });
    expect((await fhir(sb, '/DocumentReference', { token, method: 'POST', body })).status).toBe(503);
    expect(sb.store.listDocumentReferences()).toHaveLength(1);
  });

  it("when:'after' timeout holds the answer of a stored create until close", async () => {
    const { sb, token } = await start();
    const { jpeg } = await makeAttachments();
    sb.faults.add({ kind: 'timeout', method: 'POST', when: 'after' });
    const pending = fhir(sb, '/Media', { token, method: 'POST', body: mediaBody(sb.patients[0]!.id, jpeg) });
    await vi.waitFor(() => expect(sb.store.listMedia()).toHaveLength(1));
    await sb.close();
    await expect(pending).rejects.toThrow();
  });

  it("when:'after' also takes the answer of a refused create, and acts as 'before' on reads", async () => {
    const { sb, token } = await start();
    sb.faults.add({ kind: 'status500', when: 'after', times: 2 });
    const refused = await fhir(sb, '/Media', { token, method: 'POST', body: { resourceType: 'Media' } });
    expect(refused.status).toBe(500);
    expect(sb.store.counters.mediaCreateCalls).toBe(1);
    expect((await fhir(sb, '/Location', { token })).status).toBe(500);
    expect(sb.store.listMedia()).toHaveLength(0);
  });

  it('applies faults given at start (as SANDBOX_FAULTS does)', async () => {
    const { sb, token } = await start({ faults: parseFaultRules('[{"kind":"status503","facilityId":"F2N060-E","times":1}]') });
    expect((await fhir(sb, '/Location', { token })).status).toBe(503);
    expect((await fhir(sb, '/Location', { token })).status).toBe(200);
  });
});

describe('/_sandbox control plane', () => {
  const json = (method: string, body?: unknown): RequestInit => ({
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

  it('adds, lists and removes fault rules over HTTP', async () => {
    const { sb, token } = await start();
    const added = await fetch(`${sb.url}/_sandbox/faults`, json('POST', [{ kind: 'status503', facilityId: 'F2N060-E' }, { kind: 'latency', latencyMs: 0 }]));
    expect(added.status).toBe(201);
    const { ids } = (await added.json()) as { ids: string[] };
    expect(ids).toHaveLength(2);
    const listed = (await (await fetch(`${sb.url}/_sandbox/faults`)).json()) as { rules: { id: string; kind: string }[] };
    expect(listed.rules.map((r) => r.kind)).toEqual(['status503', 'latency']);
    expect((await fhir(sb, '/Location', { token })).status).toBe(503);
    expect((await fetch(`${sb.url}/_sandbox/faults/${ids[0]}`, json('DELETE'))).status).toBe(204);
    expect((await fetch(`${sb.url}/_sandbox/faults/${ids[0]}`, json('DELETE'))).status).toBe(404);
    expect((await fhir(sb, '/Location', { token })).status).toBe(200);
    expect((await fetch(`${sb.url}/_sandbox/faults`, json('DELETE'))).status).toBe(204);
    expect(sb.faults.list()).toHaveLength(0);
  });

  it('refuses a bad rule with 400 ERR_REQUEST_INVALID and adds none of the batch', async () => {
    const { sb } = await start();
    const res = await fetch(`${sb.url}/_sandbox/faults`, json('POST', [{ kind: 'drop' }, { kind: 'explode' }]));
    expect(res.status).toBe(400);
    const body = (await res.json()) as { code: string; detail: string };
    expect(body.code).toBe('ERR_REQUEST_INVALID');
    expect(body.detail).toMatch(/kind/);
    expect(sb.faults.list()).toHaveLength(0);
  });

  it('shows state, resets, revokes tokens and issues launches over HTTP; is never counted or faulted', async () => {
    const { sb, token } = await start();
    sb.faults.add({ kind: 'status503', pathPrefix: '/' });
    const state = (await (await fetch(`${sb.url}/_sandbox/state`)).json()) as { counters: { tokensIssued: number }; facilities: string[]; activeTokens: number };
    expect(state.counters.tokensIssued).toBe(1);
    expect(state.activeTokens).toBe(1);
    expect(state.facilities).toEqual(['F2N060-E', 'F99669-C']);
    sb.faults.clear();

    const launch = await fetch(`${sb.url}/_sandbox/launch`, json('POST', { patientId: sb.patients[0]!.id, facilityCode: 'F2N060-E' }));
    expect(launch.status).toBe(201);
    const pair = (await launch.json()) as { context: string; signature: string };
    const decoded = await fhir(sb, `/vendorforms/api/getlaunchcontextstring/${encodeURIComponent(pair.context)}/${encodeURIComponent(pair.signature)}`, { token });
    expect(((await decoded.json()) as { patientId: string }).patientId).toBe(sb.patients[0]!.id);
    const badLaunch = await fetch(`${sb.url}/_sandbox/launch`, json('POST', { patientId: 5 }));
    expect(badLaunch.status).toBe(400);

    expect((await fetch(`${sb.url}/_sandbox/tokens/revoke`, json('POST'))).status).toBe(204);
    expect((await fhir(sb, '/Location', { token })).status).toBe(401);
    expect((await fetch(`${sb.url}/_sandbox/reset`, json('POST'))).status).toBe(204);
    expect(sb.store.counters.requestsByRoute).toEqual({});
  });
});
