/**
 * The preload with a MOCKED electron (contextBridge/ipcRenderer): it exposes named methods for every
 * contract method (no generic invoke), each over its own channel, and event subscriptions that unsubscribe.
 */
import { describe, expect, it, vi } from 'vitest';
import { BRIDGE_METHODS, bridgeChannel, bridgeEventChannel } from '../../shared/contracts/bridge';
import { AppError } from '../../shared/errors/app-error';

const exposed: Record<string, unknown> = {};
const invoke = vi.fn(async (channel: string, _arg: unknown) => {
  if (channel === bridgeChannel('phone.end')) return { ok: false, error: { code: 'ERR_NO_PATIENT', message: 'No patient is selected.', action: 'relaunch', retryable: false } };
  if (channel === bridgeChannel('patient.confirm')) {
    return { ok: false, error: { code: 'ERR_LOOKUP_EXPIRED', message: 'That patient search has expired. Find the patient by NHI again.', action: 'fix-input', retryable: false } };
  }
  return { ok: true, value: { echoed: channel } };
});
const listeners = new Map<string, (e: unknown, p: unknown) => void>();
vi.mock('electron', () => {
  const contextBridge = { exposeInMainWorld: (key: string, value: unknown) => void (exposed[key] = value) };
  const ipcRenderer = {
    invoke: (c: string, a: unknown) => invoke(c, a),
    on: (c: string, l: (e: unknown, p: unknown) => void) => void listeners.set(c, l),
    removeListener: (c: string) => void listeners.delete(c),
  };
  return { default: { contextBridge, ipcRenderer }, contextBridge, ipcRenderer };
});

await import('./index');

describe('preload', () => {
  it('exposes window.clinicpro with one named method per contract method and nothing generic', () => {
    const api = exposed.clinicpro as Record<string, Record<string, unknown>>;
    expect(Object.keys(exposed)).toEqual(['clinicpro']);
    for (const m of BRIDGE_METHODS) {
      const [ns, verb] = m.split('.') as [string, string];
      expect(typeof api[ns]?.[verb]).toBe('function');
    }
    expect(api).not.toHaveProperty('invoke');
    expect(api).not.toHaveProperty('ipcRenderer');
    expect(api).not.toHaveProperty('send');
  });

  it('calls each method on its own channel and rebuilds coded errors', async () => {
    const api = exposed.clinicpro as { app: { getState(): Promise<unknown> }; phone: { end(): Promise<unknown> } };
    await expect(api.app.getState()).resolves.toEqual({ echoed: 'bridge:app.getState' });
    expect(invoke).toHaveBeenCalledWith('bridge:app.getState', {});
    await expect(api.phone.end()).rejects.toMatchObject({ code: 'ERR_NO_PATIENT', message: 'No patient is selected.' });
  });

  it('exposes find-by-NHI as named methods, each on its own channel, with coded errors rebuilt', async () => {
    const api = exposed.clinicpro as {
      patient: { lookup(a: unknown): Promise<unknown>; confirm(a: unknown): Promise<unknown>; cancelLookup(): Promise<unknown> };
    };
    await expect(api.patient.lookup({ nhi: 'ZZZ0016' })).resolves.toEqual({ echoed: 'bridge:patient.lookup' });
    expect(invoke).toHaveBeenCalledWith('bridge:patient.lookup', { nhi: 'ZZZ0016' });
    await expect(api.patient.cancelLookup()).resolves.toEqual({ echoed: 'bridge:patient.cancelLookup' });
    expect(invoke).toHaveBeenCalledWith('bridge:patient.cancelLookup', {});
    const err = await api.patient.confirm({ lookupId: 'lk_0123456789abcdef' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: 'ERR_LOOKUP_EXPIRED', action: 'fix-input' });
  });

  it('subscribes to events and unsubscribes', () => {
    const api = exposed.clinicpro as { on(e: string, l: (p: unknown) => void): () => void };
    const got: unknown[] = [];
    const off = api.on('notice', (p) => got.push(p));
    listeners.get(bridgeEventChannel('notice'))?.({}, { id: 'n1' });
    expect(got).toEqual([{ id: 'n1' }]);
    off();
    expect(listeners.has(bridgeEventChannel('notice'))).toBe(false);
  });
});
