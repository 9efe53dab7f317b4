/**
 * Forged launches, end to end: fuzzed launch URLs built from REAL sandbox launch pairs (bit flips, swapped and
 * re-signed halves, truncation, re-encoding, case changes, replays, arbitrary strings) go through the strict
 * parser AND — whether or not the parser let them through — to the real gateway verifier
 * (POST /v1/launch/verify over HTTP with a real device credential, the gateway decoding through the sandbox).
 * Bars: 0 forgeries accepted (a 200 only for an untouched genuine pair, once), 0 5xx, 0 crashes, no error body
 * with a stack, a path or the pair. Size: HARD_SCALE=full → 1,200 URLs; default 150.
 */
import { createHmac, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EnrolResponse } from '../../shared/contracts/gateway';
import { parseLaunchUrl } from '../../electron/launch/parse';
import { buildLaunchUrl } from '../../electron/launch/testkit/launch-url';
import { scaled } from './helpers/scale';
import { startWorld, type World } from './helpers/world';

const URLS = scaled(1_200, 150);
const VERIFY_STATUSES = new Set([200, 400, 401, 403, 409, 422, 429]);

let w: World;
let device: EnrolResponse;
beforeAll(async () => {
  w = await startWorld();
  device = await w.enrol('Launch fuzz');
});
afterAll(async () => {
  await w?.close();
});

type Pair = { context: string; signature: string };

function genuine(nhi = 'ZZZ0040'): Pair {
  return w.sandbox.issueLaunch({ patientId: w.patient(nhi).id, facilityCode: device.facilityId });
}

/** One hostile variant of a fresh genuine pair, chosen by `kind` with values from `r`. */
function mutate(kind: number, g: Pair, other: Pair, r: () => number): { pair: Pair; url?: string } {
  const flip = (s: string): string => {
    const i = Math.floor(r() * s.length);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    let c = alphabet[Math.floor(r() * alphabet.length)] as string;
    if (c === s[i]) c = c === 'A' ? 'B' : 'A';
    return s.slice(0, i) + c + s.slice(i + 1);
  };
  switch (kind % 10) {
    case 0:
      return { pair: { context: flip(g.context), signature: g.signature } };
    case 1:
      return { pair: { context: g.context, signature: flip(g.signature) } };
    case 2:
      return { pair: { context: g.context, signature: other.signature } }; // a real signature of another launch
    case 3:
      return { pair: { context: other.context, signature: g.signature } };
    case 4: {
      // A context that decodes as base64 with a signature made with a key we do not have.
      const context = randomBytes(16 + Math.floor(r() * 200)).toString('base64');
      return { pair: { context, signature: createHmac('sha256', randomBytes(32)).update(context).digest('base64') } };
    }
    case 5:
      return { pair: { context: g.context.slice(0, Math.max(1, Math.floor(r() * g.context.length))), signature: g.signature } };
    case 6:
      return { pair: { context: g.context.toLowerCase(), signature: g.signature.toUpperCase() } };
    case 7: // smuggled extras in the URL around a good pair (the parser must refuse; the verifier sees the pair)
      return { pair: g, url: `${buildLaunchUrl(g.context, g.signature)}&context=${encodeURIComponent(other.context)}` };
    case 8:
      return { pair: { context: `${g.context}${'A'.repeat(1 + Math.floor(r() * 5000))}`, signature: g.signature } };
    default:
      return { pair: { context: g.context.split('').reverse().join(''), signature: g.signature } };
  }
}

describe(`${URLS} hostile launch URLs through the parser and the gateway verifier`, () => {
  it('0 forgeries accepted, 0 server errors, plain coded refusals only', async () => {
    const auth = `Device ${device.deviceId}.${device.deviceSecret}`;
    const verify = async (pair: unknown): Promise<{ status: number; body: string }> => {
      const res = await fetch(`${w.gatewayDirectUrl}/v1/launch/verify`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth }, body: JSON.stringify(pair) });
      return { status: res.status, body: await res.text() };
    };
    const rnd = fc.sample(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { numRuns: URLS * 8, seed: 20261123 });
    let k = 0;
    const r = (): number => rnd[k++ % rnd.length] ?? 0;
    const arbitrary = fc.sample(fc.oneof(fc.string({ maxLength: 300 }), fc.webUrl(), fc.constantFrom('clinicpro-images://launch?context=&signature=', 'clinicpro-images://launch?context=a--b&signature=c')), { numRuns: URLS, seed: 7 });

    const genuineUsed = new Set<string>();
    const statuses: Record<number, number> = {};
    let parserAccepted = 0;
    let forgeries = 0;
    let serverErrors = 0;
    let leaks = 0;
    let genuineAccepted = 0;
    for (let i = 0; i < URLS; i++) {
      const g = genuine(i % 2 ? 'ZZZ0040' : 'ZZZ0016');
      const other = genuine('ZZZ0024');
      let pair: unknown;
      let url: string;
      if (i % 10 === 9) {
        url = arbitrary[i] ?? '';
        pair = { context: url, signature: url };
      } else if (i % 25 === 0) {
        pair = g; // control: an untouched genuine pair is accepted once…
        url = buildLaunchUrl(g.context, g.signature);
      } else if (i % 25 === 1) {
        const prev = genuine('ZZZ0016');
        await verify(prev); // …and a replay of it is refused
        genuineUsed.add(`${prev.context}|${prev.signature}`);
        pair = prev;
        url = buildLaunchUrl(prev.context, prev.signature);
      } else {
        const m = mutate(Math.floor(r() * 10), g, other, r);
        pair = m.pair;
        url = m.url ?? buildLaunchUrl(m.pair.context, m.pair.signature);
      }
      const parsed = parseLaunchUrl(url);
      if (parsed.ok) parserAccepted++;
      const toVerify = parsed.ok ? { context: parsed.ticket.context, signature: parsed.ticket.signature } : pair;
      const res = await verify(toVerify);
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      if (!VERIFY_STATUSES.has(res.status)) serverErrors++;
      const p = toVerify as Pair;
      const key = `${p.context}|${p.signature}`;
      const isGenuine = p.context === g.context && p.signature === g.signature;
      if (res.status === 200) {
        if (!isGenuine || genuineUsed.has(key)) forgeries++;
        else genuineAccepted++;
        genuineUsed.add(key);
      } else {
        if (/at \w+ \(|\/work\/|node_modules|"stack"/.test(res.body)) leaks++;
        if (typeof p.context === 'string' && p.context.length > 20 && res.body.includes(p.context)) leaks++;
      }
    }
    const summary = { urls: URLS, parserAccepted, genuineAccepted, forgeries, serverErrors, leaks, statuses };
    console.log('hard launch fuzz:', JSON.stringify(summary));
    expect(forgeries).toBe(0);
    expect(serverErrors).toBe(0);
    expect(leaks).toBe(0);
    expect(genuineAccepted).toBe(Math.ceil(URLS / 25)); // every control accepted: the verifier is not simply refusing everything
    // The gateway logs never carry the pairs or the canary patient.
    const logs = w.logs.gateway.join('');
    expect(logs).not.toContain('ZZZ0040');
    expect(logs).not.toContain('Canary');
  }, 900_000);
});
