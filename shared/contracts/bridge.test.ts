import { describe, expect, expectTypeOf, it } from 'vitest';
import { AppError } from '../errors/app-error';
import type { ErrorBody } from '../errors/app-error';
import type { PatientSummary } from './common';
import {
  BRIDGE_EVENTS,
  BRIDGE_METHODS,
  BRIDGE_SCHEMAS,
  checkBridgeEvent,
  checkBridgeRequest,
  checkBridgeResponse,
  createBridgeClient,
  dispatchBridgeCall,
  type AppState,
  type BridgeEnvelope,
  type BridgeEvents,
  type BridgeHandlers,
  type BridgeMethod,
  type CompanionApi,
  type ImageView,
  type LaunchView,
  type PendingLookupView,
  type PhoneView,
} from './bridge';

const ID = '6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b';
const patient: PatientSummary = { id: 'p-16', nhi: 'ZZZ0016', familyName: 'Testpatient', givenName: 'Canary', birthDate: '1980-01-02', sex: 'female' };

const emptyState: AppState = {
  revision: 0,
  enrolment: { enrolled: false },
  launch: { status: 'none' },
  patient: null,
  captureSession: null,
  images: [],
  phone: null,
  outbox: [],
  notices: [],
};

describe('bridge contract: types', () => {
  it('exposes named, namespaced async methods with typed arguments and answers', () => {
    expectTypeOf<CompanionApi['app']['getState']>().returns.resolves.toEqualTypeOf<AppState>();
    expectTypeOf<CompanionApi['images']['addFiles']>().parameter(0).toEqualTypeOf<{ files: { name: string; dataBase64: string }[] }>();
    expectTypeOf<CompanionApi['phone']['start']>().returns.resolves.toEqualTypeOf<PhoneView>();
    expectTypeOf<CompanionApi['images']['edit']>().returns.resolves.toEqualTypeOf<ImageView>();
    expectTypeOf<CompanionApi['commit']['start']>().parameter(0).toHaveProperty('targets').toEqualTypeOf<{ media: boolean; inboxScan: boolean }>();
    // no generic invoke on the surface
    expectTypeOf<CompanionApi>().not.toHaveProperty('invoke');
    // a method with an empty argument may be called bare
    expectTypeOf<CompanionApi['phone']['end']>().toBeCallableWith();
    // the NHI fallback: a pending candidate first, the launch state only after confirming
    expectTypeOf<CompanionApi['patient']['lookup']>().parameter(0).toEqualTypeOf<{ nhi: string }>();
    expectTypeOf<CompanionApi['patient']['lookup']>().returns.resolves.toEqualTypeOf<PendingLookupView>();
    expectTypeOf<CompanionApi['patient']['confirm']>().returns.resolves.toEqualTypeOf<LaunchView>();
    expectTypeOf<CompanionApi['patient']['cancelLookup']>().toBeCallableWith();
    expectTypeOf<AppState['pendingLookup']>().toEqualTypeOf<PendingLookupView | undefined>();
  });

  it('ties every image to its own patient and uses ErrorBody for errors', () => {
    expectTypeOf<ImageView['patientId']>().toEqualTypeOf<string>();
    expectTypeOf<ImageView['patient']>().toEqualTypeOf<PatientSummary>();
    expectTypeOf<ImageView['status']>().toEqualTypeOf<'processing' | 'needs-info' | 'ready' | 'sending' | 'committed' | 'failed' | 'waiting' | 'unconfirmed'>();
    expectTypeOf<NonNullable<ImageView['error']>['code']>().toEqualTypeOf<ErrorBody['code']>();
    expectTypeOf<AppState['patient']>().toEqualTypeOf<PatientSummary | null>();
    expectTypeOf<BridgeEvents['state']>().toEqualTypeOf<AppState>();
  });

  it('handlers are one flat function per method name', () => {
    expectTypeOf<keyof BridgeHandlers>().toEqualTypeOf<BridgeMethod>();
    expectTypeOf<BridgeHandlers['launch.open']>().parameter(0).toEqualTypeOf<{ url: string }>();
  });
});

describe('bridge contract: runtime', () => {
  it('lists every method once, each with request and response schemas', () => {
    expect(new Set(BRIDGE_METHODS).size).toBe(BRIDGE_METHODS.length);
    expect(BRIDGE_METHODS).toEqual(expect.arrayContaining(['app.getState', 'images.addFiles', 'commit.start', 'settings.set']));
    for (const m of BRIDGE_METHODS) {
      expect(m).toMatch(/^[a-z]+\.[a-zA-Z]+$/);
      expect(BRIDGE_SCHEMAS[m].request).toBeDefined();
      expect(BRIDGE_SCHEMAS[m].response).toBeDefined();
    }
    expect(BRIDGE_EVENTS).toEqual(['state', 'image-progress', 'notice']);
  });

  it('accepts good arguments and refuses bad ones with ERR_REQUEST_INVALID and no echo of the value', () => {
    expect(checkBridgeRequest('app.getState', undefined).ok).toBe(true);
    expect(checkBridgeRequest('images.addFiles', { files: [{ name: 'a.jpg', dataBase64: 'AAAA' }] }).ok).toBe(true);
    const bad = [
      ['images.addFiles', { files: [] }],
      ['images.addFiles', { files: [{ name: 'a.jpg', dataBase64: 'not base64!' }] }],
      ['images.addFiles', { files: [{ name: 'a.jpg', dataBase64: 'AAAA', path: '/etc/passwd' }] }],
      ['images.updateMetadata', { ids: ['not-a-uuid'], patch: {} }],
      ['images.updateMetadata', { ids: [ID], patch: { laterality: 'up' } }],
      ['images.edit', { id: ID, edits: { rotate: 45, annotations: [] } }],
      ['commit.start', { targets: { media: true }, captionStrip: false }],
      ['launch.open', { url: 'x'.repeat(9000) }],
      ['settings.set', { patch: { version: 2 } }],
      ['app.getState', { extra: 1 }],
      ['enrolment.enrol', { gatewayUrl: 'javascript:alert(1)', enrolmentCode: 'ABCD', deviceName: 'Room 1' }],
      ['patient.lookup', { nhi: '' }],
      ['patient.lookup', { nhi: 'Z'.repeat(33) }],
      ['patient.lookup', { nhi: 'ZZZ0016', patientId: 'p-1' }],
      ['patient.confirm', {}],
      ['patient.confirm', { lookupId: '../../etc/passwd' }],
      ['patient.confirm', { lookupId: 'lk_abcdefgh', grantId: 'g' }],
      ['patient.cancelLookup', { lookupId: 'lk_abcdefgh' }],
    ] as const;
    for (const [m, arg] of bad) {
      const r = checkBridgeRequest(m, arg);
      expect(r.ok, `${m} ${JSON.stringify(arg).slice(0, 60)}`).toBe(false);
      if (!r.ok) {
        expect(r.error.code).toBe('ERR_REQUEST_INVALID');
        expect(r.error.detail).not.toContain('passwd');
      }
    }
    expect(checkBridgeRequest('no.such' as BridgeMethod, {}).ok).toBe(false);
  });

  it('validates answers and events', () => {
    expect(checkBridgeResponse('app.getState', emptyState)).toBe(true);
    expect(checkBridgeEvent('state', { ...emptyState, patient })).toBe(true);
    expect(checkBridgeEvent('state', { ...emptyState, patient: { ...patient, nhi: 'bad' } })).toBe(false);
    expect(checkBridgeEvent('image-progress', { imageId: ID, phase: 'upload', fraction: 0.5 })).toBe(true);
    const pendingLookup = { lookupId: 'lk_0123456789abcdef', patient, expiresAt: '2026-11-23T21:00:00.000Z' };
    expect(checkBridgeEvent('state', { ...emptyState, pendingLookup })).toBe(true);
    expect(checkBridgeEvent('state', { ...emptyState, pendingLookup: { ...pendingLookup, lookupId: 'x' } })).toBe(false);
    expect(checkBridgeResponse('patient.lookup', pendingLookup)).toBe(true);
    expect(checkBridgeRequest('patient.confirm', { lookupId: pendingLookup.lookupId }).ok).toBe(true);
    expect(checkBridgeRequest('patient.lookup', { nhi: ' zzz 0016 ' }).ok).toBe(true);
  });

  it('round-trips a call through a transport: client → envelope → handlers → client, errors rebuilt as AppError', async () => {
    const calls: string[] = [];
    const handlers = {
      'app.getState': () => Promise.resolve({ ...emptyState, revision: 7 }),
      'phone.end': () => Promise.reject(new AppError('ERR_NO_PATIENT')),
      'notices.dismiss': () => Promise.reject(new Error('secret /home/path detail')),
    } as unknown as BridgeHandlers;
    const transport = async (m: BridgeMethod, arg: unknown): Promise<BridgeEnvelope> => {
      calls.push(m);
      // JSON round-trip, as over a WebSocket
      return JSON.parse(JSON.stringify(await dispatchBridgeCall(handlers, m, JSON.parse(JSON.stringify(arg))))) as BridgeEnvelope;
    };
    const listeners: ((p: unknown) => void)[] = [];
    const api = createBridgeClient(transport, (_e, fn) => {
      listeners.push(fn);
      return () => listeners.splice(listeners.indexOf(fn), 1);
    });
    expect((await api.app.getState()).revision).toBe(7);
    await expect(api.phone.end()).rejects.toMatchObject({ code: 'ERR_NO_PATIENT' });
    const internal = await api.notices.dismiss({ id: 'n1' }).catch((e: unknown) => e);
    expect(internal).toBeInstanceOf(AppError);
    expect((internal as AppError).code).toBe('ERR_INTERNAL');
    expect((internal as AppError).message).not.toContain('/home/path');
    await expect(api.images.remove({ ids: ['nope'] })).rejects.toMatchObject({ code: 'ERR_REQUEST_INVALID' });
    expect(calls).toEqual(['app.getState', 'phone.end', 'notices.dismiss', 'images.remove']);
    const seen: number[] = [];
    const off = api.on('state', (s) => seen.push(s.revision));
    listeners.forEach((l) => l({ ...emptyState, revision: 3 }));
    off();
    listeners.forEach((l) => l({ ...emptyState, revision: 4 }));
    expect(seen).toEqual([3]);
  });
});
