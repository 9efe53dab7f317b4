/**
 * No patient data in logs: a full flow (enrol, launch, NHI lookup, commits, faults, refusals, verify)
 * at log level trace, then every seeded secret and patient field is searched for in every log line.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LaunchGrant } from '../../shared/contracts/gateway';
import { LAUNCH_LOOKUP_ROUTE } from '../../gateway/src/app';
import { startHarness, type Harness } from './helpers/harness';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

describe('logs', () => {
  it('hold no name, NHI, date of birth, patient id, credential, launch pair or image bytes', async () => {
    const canary = h.patient('ZZZ0040'); // "Canary Testpatient"
    const responses: string[] = [];
    const device = await h.enrol();
    const pair = h.sandbox.issueLaunch({ patientId: canary.id, facilityCode: device.facilityId });
    const launch = await h.app.inject({ method: 'POST', url: '/v1/launch/verify', headers: { authorization: h.auth(device) }, payload: pair });
    expect(launch.statusCode).toBe(200);
    const grant = launch.json<LaunchGrant>();
    // Replayed and tampered launches.
    responses.push((await h.app.inject({ method: 'POST', url: '/v1/launch/verify', headers: { authorization: h.auth(device) }, payload: pair })).body);
    responses.push((await h.app.inject({ method: 'POST', url: '/v1/launch/verify', headers: { authorization: h.auth(device) }, payload: { context: pair.context, signature: `${pair.signature}x` } })).body);
    // The lookup answers with the patient (that is its job); only its log lines are checked.
    expect((await h.app.inject({ method: 'POST', url: LAUNCH_LOOKUP_ROUTE, headers: { authorization: h.auth(device) }, payload: { nhi: canary.nhi } })).statusCode).toBe(200);

    // Commits: clean, through a stale token and a throttle, one whose outcome is unknown (500), a wrong
    // patient, a replay, a verify.
    h.sandbox.faults.add({ kind: 'status401', method: 'POST', times: 1 });
    h.sandbox.faults.add({ kind: 'status429', method: 'POST', times: 1, retryAfterSeconds: 1 });
    const body = h.commitBody(grant, { media: true, document: true });
    const committed = await h.commit(device, body);
    expect(committed.statusCode).toBe(201);
    responses.push(committed.body, (await h.commit(device, body)).body);
    h.sandbox.faults.add({ kind: 'status500', method: 'POST', times: 1 });
    const unknown = await h.commit(device, h.commitBody(grant, { media: true }));
    expect(unknown.statusCode).toBe(409);
    responses.push(unknown.body);
    responses.push((await h.commit(device, { ...h.commitBody(grant, { media: true }), patientId: h.patient('ZZZ0016').id })).body);
    responses.push((await h.commit(device, { ...h.commitBody(grant, { media: true }), media: { contentType: 'image/png', data: h.attachments.jpeg.toString('base64') } })).body);
    responses.push((await h.app.inject({ method: 'GET', url: `/v1/commits/${body.imageId}/verify`, headers: { authorization: h.auth(device) } })).body);
    // A revoked device.
    await h.store.revokeDevice(device.deviceId, h.clock.now());
    responses.push((await h.commit(device, body)).body);

    const logs = h.logs.join('\n');
    expect(h.logs.length).toBeGreaterThan(20);
    const imageMarker = body.media!.data.slice(100, 160);
    const seeded: Record<string, string> = {
      familyName: canary.familyName,
      givenName: canary.givenName,
      nhi: canary.nhi,
      birthDate: canary.birthDate,
      patientId: canary.id,
      deviceSecret: device.deviceSecret,
      grantId: grant.grantId,
      context: pair.context.slice(0, 40),
      signature: pair.signature.slice(0, 40),
      alexClientSecret: h.sandbox.credentials.clientSecret,
      imageBytes: imageMarker,
      documentBytes: body.document!.data.slice(40, 100),
    };
    for (const [what, value] of Object.entries(seeded)) {
      expect(logs.includes(value), `${what} found in the logs`).toBe(false);
    }
    // Error bodies carry no patient data either.
    for (const what of ['familyName', 'givenName', 'nhi', 'birthDate', 'alexClientSecret', 'deviceSecret'] as const) {
      expect(responses.join('\n').includes(seeded[what] as string), `${what} found in a response`).toBe(false);
    }
  });
});
