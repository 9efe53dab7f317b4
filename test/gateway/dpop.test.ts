/**
 * G6 — device authentication with proof of possession (DPoP, RFC 9449), against the real gateway over
 * loopback HTTP: a missing, forged or replayed proof, an iat more than 60 s off, a wrong method or URL,
 * another key, a bad typ/alg or an oversized header, or a revoked device → 401 with its code; the good
 * proof works; devices without a key keep working under `if-bound` and are refused under `required`.
 * Proofs come from the companion's helper (electron/gateway-client/dpop.ts), verified by the gateway (jose).
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceInfo, EnrolResponse, LaunchGrant } from '../../shared/contracts/gateway';
import { newDeviceCredentials } from '../../gateway/src/auth/credentials';
import { cryptoRandom } from '../../gateway/src/deps';
import { createDpopProof, generateDpopKey } from '../../electron/gateway-client/dpop';
import { FACILITY, startHarness, type Harness } from './helpers/harness';
import { claimsFor, dpopHeader, enrolWithKey, handMadeJws, httpRequest, listenOnLoopback, proofFor, type HttpAnswer, type KeyedDevice } from './helpers/dpop';

const ME = '/v1/devices/me';
const MANY = { RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '100000' };

describe('if-bound (default): devices enrolled with a key must prove it', () => {
  let h: Harness;
  let base: string;
  let device: KeyedDevice;
  let grant: LaunchGrant;

  beforeAll(async () => {
    h = await startHarness({ env: MANY });
    base = await listenOnLoopback(h.app);
    device = await enrolWithKey(h, base);
  });
  afterAll(async () => {
    await h?.close();
  });

  const get = (d: EnrolResponse, proof?: string | string[], path = ME): Promise<HttpAnswer> =>
    httpRequest(base, 'GET', path, { authorization: h.auth(d), ...(proof === undefined ? {} : { dpop: proof }) });
  const me = (proof: string | string[] | undefined, d: EnrolResponse = device) => get(d, proof);
  const refusal = (r: HttpAnswer) => [r.status, r.code];
  const good = (d: KeyedDevice = device, path = ME, method = 'GET') => proofFor(h, d.key, method, `${base}${path}`);

  it('stores the thumbprint of the enrolled key with the device', async () => {
    const rec = await h.store.getDevice(device.deviceId);
    expect(rec?.dpopJkt).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('accepts a good proof on every authenticated route: me, launch, commit, verify', async () => {
    const r = await me(good());
    expect(r.status).toBe(200);
    expect(r.json<DeviceInfo>().deviceId).toBe(device.deviceId);

    const pair = h.sandbox.issueLaunch({ patientId: h.patient().id, facilityCode: device.facilityId });
    const launch = await httpRequest(base, 'POST', '/v1/launch/verify', { authorization: h.auth(device), dpop: good(device, '/v1/launch/verify', 'POST') }, pair);
    expect(launch.status).toBe(200);
    grant = launch.json<LaunchGrant>();

    const body = h.commitBody(grant, { media: true });
    const headers = { authorization: h.auth(device), 'idempotency-key': body.imageId };
    const commit = await httpRequest(base, 'POST', '/v1/commits', { ...headers, dpop: good(device, '/v1/commits', 'POST') }, body);
    expect(commit.status).toBe(201);
    const verifyPath = `/v1/commits/${body.imageId}/verify`;
    expect((await get(device, good(device, verifyPath), verifyPath)).status).toBe(200);
    // The htu ignores the query; the proof is bound to the path.
    expect((await get(device, good(device, verifyPath), `${verifyPath}?x=1`)).status).toBe(200);
  });

  it('refuses a call without a proof: 401 ERR_AUTH_PROOF_MISSING with the DPoP challenge', async () => {
    const r = await me(undefined);
    expect(refusal(r)).toEqual([401, 'ERR_AUTH_PROOF_MISSING']);
    expect(r.headers['www-authenticate']).toBe('DPoP algs="ES256"');
    expect(refusal(await me(''))).toEqual([401, 'ERR_AUTH_PROOF_MISSING']);
  });

  it('refuses forged signatures', async () => {
    // The payload swapped for another (a commit URL), the signature kept.
    const [head, , sig] = good().split('.');
    const otherPayload = good(device, '/v1/commits', 'POST').split('.')[1];
    const swapped = await me(`${head}.${otherPayload}.${sig}`);
    expect(refusal(swapped)).toEqual([401, 'ERR_AUTH_PROOF_INVALID']);
    expect(swapped.detail).toContain('signature');
    expect(swapped.headers['www-authenticate']).toMatch(/^DPoP error="invalid_dpop_proof", error_description="[^"]+", algs="ES256"$/);
    // The enrolled public key in the header, signed by another key.
    const thief = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const stolen = handMadeJws(dpopHeader(device.key.publicJwk), claimsFor(h, 'GET', `${base}${ME}`), { kind: 'es256', key: thief });
    expect(refusal(await me(stolen))).toEqual([401, 'ERR_AUTH_PROOF_INVALID']);
    // Signature bytes flipped.
    const p = good();
    const flipped = `${p.slice(0, -20)}${p.at(-20) === 'A' ? 'B' : 'A'}${p.slice(-19)}`;
    expect(refusal(await me(flipped))).toEqual([401, 'ERR_AUTH_PROOF_INVALID']);
  });

  it('refuses a proof made with another key than the one the device enrolled with', async () => {
    const r = await me(createDpopProof(generateDpopKey(), { method: 'GET', url: `${base}${ME}`, now: h.clock.now() }));
    expect(refusal(r)).toEqual([401, 'ERR_AUTH_PROOF_INVALID']);
    expect(r.detail).toContain('not the key this device enrolled with');
  });

  it('refuses a proof for another method or another URL', async () => {
    const wrongMethod = await me(good(device, ME, 'POST'));
    expect(refusal(wrongMethod)).toEqual([401, 'ERR_AUTH_PROOF_INVALID']);
    expect(wrongMethod.detail).toContain('htm');
    for (const url of [`${base}/v1/commits`, `http://gateway.example.org${ME}`, `https://127.0.0.1:${new URL(base).port}${ME}`, `${base}${ME}/`]) {
      const r = await me(createDpopProof(device.key, { method: 'GET', url, now: h.clock.now() }));
      expect(refusal(r), url).toEqual([401, 'ERR_AUTH_PROOF_INVALID']);
      expect(r.detail, url).toContain('htu');
    }
    // A relative htu (the helper always makes absolute ones).
    const relative = handMadeJws(dpopHeader(device.key.publicJwk), { ...claimsFor(h, 'GET', ME) }, { kind: 'es256', key: device.key.privateKey });
    expect((await me(relative)).detail).toContain('htu');
  });

  it('refuses an iat more than 60 s away from the gateway clock, either way, and accepts up to 60 s', async () => {
    h.clock.set(Math.ceil(h.clock.now() / 1000) * 1000); // a whole second, so ±60 s is exactly the bound
    for (const offset of [-61, 61, -3600, 3600]) {
      const r = await me(proofFor(h, device.key, 'GET', `${base}${ME}`, { iatOffsetSeconds: offset }));
      expect(refusal(r), `iat ${offset}`).toEqual([401, 'ERR_AUTH_PROOF_CLOCK']);
      expect(r.headers['www-authenticate']).toContain('invalid_dpop_proof');
    }
    for (const offset of [-59, 59, -60, 60, 0]) {
      expect((await me(proofFor(h, device.key, 'GET', `${base}${ME}`, { iatOffsetSeconds: offset }))).status, `iat ${offset}`).toBe(200);
    }
  });

  it('refuses a replayed proof, and a new proof that reuses a jti', async () => {
    const p = good();
    expect((await me(p)).status).toBe(200);
    const again = await me(p);
    expect(refusal(again)).toEqual([401, 'ERR_AUTH_PROOF_REPLAYED']);
    expect(again.headers['www-authenticate']).toContain('invalid_dpop_proof');
    const jti = randomUUID();
    expect((await me(proofFor(h, device.key, 'GET', `${base}${ME}`, { jti }))).status).toBe(200);
    expect(refusal(await me(proofFor(h, device.key, 'GET', `${base}${ME}`, { jti, iatOffsetSeconds: 5 })))).toEqual([401, 'ERR_AUTH_PROOF_REPLAYED']);
    // Concurrent copies of one proof: exactly one gets through.
    const burst = good();
    const statuses = (await Promise.all(Array.from({ length: 10 }, () => me(burst)))).map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 401)).toHaveLength(9);
    // Once the proof is too old to pass the clock check the jti is forgotten, and the proof still fails.
    h.clock.advance(121_000);
    expect(refusal(await me(p))).toEqual([401, 'ERR_AUTH_PROOF_CLOCK']);
  });

  it('refuses bad typ and alg (none, HS256, ES384 label), a private key in the header and an oversized header', async () => {
    const claims = () => claimsFor(h, 'GET', `${base}${ME}`);
    const es = { kind: 'es256', key: device.key.privateKey } as const;
    const cases: [string, string, string][] = [
      ['typ JWT', handMadeJws(dpopHeader(device.key.publicJwk, { typ: 'JWT' }), claims(), es), 'typ'],
      ['no typ', handMadeJws({ alg: 'ES256', jwk: device.key.publicJwk }, claims(), es), 'typ'],
      ['alg none', handMadeJws(dpopHeader(device.key.publicJwk, { alg: 'none' }), claims(), { kind: 'none' }), 'alg'],
      ['alg HS256 keyed with the public x', handMadeJws(dpopHeader(device.key.publicJwk, { alg: 'HS256' }), claims(), { kind: 'hs256', secret: Buffer.from(device.key.publicJwk.x, 'base64url') }), 'alg'],
      ['alg ES384', handMadeJws(dpopHeader(device.key.publicJwk, { alg: 'ES384' }), claims(), es), 'alg'],
      ['private key in jwk', handMadeJws(dpopHeader({ ...device.key.publicJwk, d: 'A'.repeat(43) } as never), claims(), es), 'jwk'],
      ['no jwk', handMadeJws({ typ: 'dpop+jwt', alg: 'ES256' }, claims(), es), 'jwk'],
      ['oversized header', handMadeJws(dpopHeader(device.key.publicJwk, { pad: 'x'.repeat(4000) }), claims(), es), 'longer than'],
      ['not a JWS', 'definitely-not-a-proof', 'compact JWS'],
      ['two DPoP headers', good(), 'compact JWS'],
    ];
    for (const [name, proof, detail] of cases) {
      const r = await me(name === 'two DPoP headers' ? [proof, good()] : proof);
      expect(refusal(r), name).toEqual([401, 'ERR_AUTH_PROOF_INVALID']);
      expect(r.detail, name).toContain(detail);
      expect(r.headers['www-authenticate'], name).toContain('invalid_dpop_proof');
    }
  });

  it('refuses a revoked device even with a good proof', async () => {
    const d = await enrolWithKey(h, base);
    expect((await me(good(d), d)).status).toBe(200);
    await h.store.revokeDevice(d.deviceId, h.clock.now());
    const r = await me(good(d), d);
    expect(refusal(r)).toEqual([401, 'ERR_AUTH_DEVICE_REVOKED']);
    expect(r.headers['www-authenticate']).toBeUndefined();
  });

  it('keeps devices enrolled without a key working, with or without a DPoP header', async () => {
    const plain = await h.enrol();
    expect((await me(undefined, plain)).status).toBe(200);
    expect((await me('ignored.for.unbound', plain)).status).toBe(200);
    expect((await h.store.getDevice(plain.deviceId))?.dpopJkt).toBeUndefined();
  });

  it('refuses a wrong secret before looking at the proof', async () => {
    const r = await httpRequest(base, 'GET', ME, { authorization: `Device ${device.deviceId}.${'x'.repeat(43)}`, dpop: good() });
    expect(refusal(r)).toEqual([401, 'ERR_AUTH_DEVICE_UNKNOWN']);
  });

  it('audits every refusal as auth.rejected with its reason, and logs no proof, jti or secret', async () => {
    const jti = `canary-jti-${randomUUID()}`;
    const proof = proofFor(h, device.key, 'GET', `${base}${ME}`, { jti, iatOffsetSeconds: 300 });
    expect(refusal(await me(proof))).toEqual([401, 'ERR_AUTH_PROOF_CLOCK']);
    const audit = (await h.store.listAudit({ deviceId: device.deviceId, limit: 1000 })).filter((a) => a.action === 'auth.rejected');
    const reasons = new Set(audit.map((a) => a.errorCode));
    for (const reason of ['ERR_AUTH_PROOF_MISSING:missing', 'ERR_AUTH_PROOF_INVALID:signature', 'ERR_AUTH_PROOF_INVALID:key-mismatch', 'ERR_AUTH_PROOF_INVALID:htm', 'ERR_AUTH_PROOF_INVALID:htu', 'ERR_AUTH_PROOF_CLOCK:iat', 'ERR_AUTH_PROOF_REPLAYED:replayed', 'ERR_AUTH_PROOF_INVALID:typ', 'ERR_AUTH_PROOF_INVALID:alg', 'ERR_AUTH_PROOF_INVALID:jwk', 'ERR_AUTH_PROOF_INVALID:too-large', 'ERR_AUTH_PROOF_INVALID:malformed']) {
      expect(reasons, reason).toContain(reason);
    }
    expect(audit.every((a) => a.outcome === 'rejected' && a.facilityId === FACILITY)).toBe(true);
    const all = await h.store.listAudit({ limit: 10_000 });
    expect(all.some((a) => a.action === 'auth.rejected' && a.errorCode === 'ERR_AUTH_DEVICE_UNKNOWN' && a.deviceId === null)).toBe(true);
    const logs = h.logs.join('\n');
    for (const secret of [proof, proof.split('.')[2] ?? '', jti, device.deviceSecret, device.key.publicJwk.x]) expect(logs).not.toContain(secret);
  });
});

describe('enrolment with a key', () => {
  let h: Harness;
  let base: string;

  beforeAll(async () => {
    h = await startHarness({ env: MANY });
    base = await listenOnLoopback(h.app);
  });
  afterAll(async () => {
    await h?.close();
  });

  const enrol = async (dpopJwk: unknown, code?: string) => {
    const c = code ?? (await h.devices.issueEnrolmentCode(FACILITY, 'Test Practice', 1)).code;
    return { code: c, res: await httpRequest(base, 'POST', '/v1/devices/enrol', {}, { enrolmentCode: c, deviceName: 'Keyed PC', dpopJwk }) };
  };

  it('refuses a private key with its own code, and keeps the enrolment code usable', async () => {
    const priv = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
    const { code, res } = await enrol(priv);
    expect([res.status, res.code]).toEqual([400, 'ERR_ENROL_KEY_PRIVATE']);
    expect(res.body).not.toContain(String(priv.d));
    expect(h.logs.join('\n')).not.toContain(String(priv.d));
    const { kty, crv, x, y } = priv;
    expect((await enrol({ kty, crv, x, y }, code)).res.status).toBe(201);
  });

  it('refuses other key types, curves and members with ERR_ENROL_KEY_INVALID', async () => {
    const pub = (type: 'rsa' | 'ec', curve?: string) =>
      (type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: curve ?? 'P-256' })).publicKey.export({ format: 'jwk' });
    const good = generateDpopKey().publicJwk;
    for (const bad of [pub('rsa'), pub('ec', 'P-384'), { ...good, kid: 'k' }, { ...good, use: 'sig' }, { ...good, y: good.x }, { kty: 'EC', crv: 'P-256' }, 'key', null]) {
      const { res } = await enrol(bad);
      expect([res.status, res.code], JSON.stringify(bad)).toEqual([400, 'ERR_ENROL_KEY_INVALID']);
      expect(res.detail).toMatch(/dpopJwk/);
    }
  });
});

describe('required: every device must prove', () => {
  let h: Harness;
  let base: string;

  beforeAll(async () => {
    h = await startHarness({ env: { ...MANY, GATEWAY_DEVICE_PROOF: 'required' } });
    base = await listenOnLoopback(h.app);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('refuses enrolment without a key, and keeps the code for an enrolment with one', async () => {
    const { code } = await h.devices.issueEnrolmentCode(FACILITY, 'Test Practice', 1);
    const r = await httpRequest(base, 'POST', '/v1/devices/enrol', {}, { enrolmentCode: code, deviceName: 'Old PC' });
    expect([r.status, r.code]).toEqual([400, 'ERR_ENROL_KEY_REQUIRED']);
    const key = generateDpopKey();
    const ok = await httpRequest(base, 'POST', '/v1/devices/enrol', {}, { enrolmentCode: code, deviceName: 'New PC', dpopJwk: key.publicJwk });
    expect(ok.status).toBe(201);
  });

  it('refuses a device enrolled without a key (before the switch), even with a proof', async () => {
    const creds = newDeviceCredentials(cryptoRandom);
    await h.store.putDevice({ deviceId: creds.deviceId, secretHash: creds.secretHash, deviceName: 'Old PC', facilityId: FACILITY, practiceName: 'P', platform: null, appVersion: null, createdAt: h.clock.now(), revokedAt: null });
    const old = { deviceId: creds.deviceId, deviceSecret: creds.deviceSecret, facilityId: FACILITY, practiceName: 'P' };
    for (const dpop of [undefined, createDpopProof(generateDpopKey(), { method: 'GET', url: `${base}${ME}`, now: h.clock.now() })]) {
      const r = await httpRequest(base, 'GET', ME, { authorization: h.auth(old), ...(dpop ? { dpop } : {}) });
      expect([r.status, r.code]).toEqual([401, 'ERR_AUTH_DEVICE_KEY_REQUIRED']);
    }
  });

  it('serves a keyed device with a proof, and refuses it without one', async () => {
    const d = await enrolWithKey(h, base);
    expect((await httpRequest(base, 'GET', ME, { authorization: h.auth(d), dpop: proofFor(h, d.key, 'GET', `${base}${ME}`) })).status).toBe(200);
    const r = await httpRequest(base, 'GET', ME, { authorization: h.auth(d) });
    expect([r.status, r.code]).toEqual([401, 'ERR_AUTH_PROOF_MISSING']);
  });
});

describe('GATEWAY_PUBLIC_URL: proofs are signed for the public address, not the one the gateway listens on', () => {
  let h: Harness;
  let base: string;

  beforeAll(async () => {
    h = await startHarness({ env: { ...MANY, GATEWAY_PUBLIC_URL: 'https://gateway.example.org/images/' } });
    base = await listenOnLoopback(h.app);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('accepts the public URL and refuses the internal one, whatever Host or X-Forwarded-Host says', async () => {
    const d = await enrolWithKey(h, base);
    const call = (url: string, extra: Record<string, string> = {}) => httpRequest(base, 'GET', ME, { authorization: h.auth(d), dpop: proofFor(h, d.key, 'GET', url), ...extra });
    expect((await call(`https://gateway.example.org/images${ME}`)).status).toBe(200);
    expect((await call(`https://GATEWAY.example.org:443/images${ME}`)).status).toBe(200);
    expect((await call(`${base}${ME}`)).code).toBe('ERR_AUTH_PROOF_INVALID');
    expect((await call(`https://gateway.example.org${ME}`)).code).toBe('ERR_AUTH_PROOF_INVALID');
    expect((await call(`https://evil.example.org/images${ME}`, { host: 'evil.example.org', 'x-forwarded-host': 'evil.example.org' })).code).toBe('ERR_AUTH_PROOF_INVALID');
  });
});
