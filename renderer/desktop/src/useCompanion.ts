/** The window's live model: the newest AppState, per-image progress, settings, the connection and local alerts (a call that failed). */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { AppState, CompanionApi, Settings } from '../../../shared/contracts/bridge';
import { AppError } from '../../../shared/errors/app-error';
import { getBridge, type ConnectionStatus } from './bridge';
import { acceptSnapshot, mergeProgress, pruneProgress, type ProgressMap } from './logic/model';

type LocalAlert = ReturnType<typeof errorText> & { id: number };

export interface Companion {
  api: CompanionApi;
  state: AppState | null;
  settings: Settings | null;
  progress: ProgressMap;
  connection: ConnectionStatus;
  alerts: LocalAlert[];
  dismissAlert(id: number): void;
  /** Run a bridge call; a coded failure becomes a visible alert (and `undefined`). */
  run<T>(fn: (api: CompanionApi) => Promise<T>): Promise<T | undefined>;
  reportError(err: unknown): void;
  refreshSettings(): Promise<void>;
}

export function errorText(err: unknown): { message: string; detail?: string } {
  if (err instanceof AppError) return { message: err.message, detail: err.correlationId && `Reference ${err.correlationId.slice(0, 8)}` };
  return { message: 'Something went wrong on our side. Please try again; if it keeps happening, call support.' };
}

export function useCompanion(): Companion {
  const bridge = getBridge();
  const api = bridge.api;
  const [state, setState] = useState<AppState | null>(null);
  const [settings, setSettings] = useState<Settings | null>(null);
  const [progress, setProgress] = useState<ProgressMap>({});
  const [connection, setConnection] = useState<ConnectionStatus>(bridge.status());
  const [alerts, setAlerts] = useState<LocalAlert[]>([]);
  const alertId = useRef(0);

  const reportError = useCallback((err: unknown) => {
    // A cancelled call (the GP closed what was waiting for it) is not an error to show.
    if (err instanceof AppError && err.code === 'ERR_REQUEST_CANCELLED') return;
    const text = errorText(err);
    const id = ++alertId.current;
    setAlerts((a) => [...a.filter((x) => x.message !== text.message), { id, ...text }].slice(-4));
  }, []);

  const run = useCallback(
    async <T,>(fn: (a: CompanionApi) => Promise<T>): Promise<T | undefined> => {
      try {
        return await fn(api);
      } catch (err) {
        reportError(err);
        return undefined;
      }
    },
    [api, reportError],
  );

  const refreshSettings = useCallback(async () => {
    const s = await run((a) => a.settings.get());
    if (s) setSettings(s);
  }, [run]);

  useEffect(() => {
    const offState = api.on('state', (s) => {
      setState((cur) => acceptSnapshot(cur, s));
      setProgress((p) => pruneProgress(p, s.images));
    });
    const offProgress = api.on('image-progress', (ev) => setProgress((p) => mergeProgress(p, ev)));
    const resync = (): void => {
      api.app
        .getState()
        .then((s) => setState((cur) => acceptSnapshot(cur, s, true)))
        .catch(reportError);
      api.settings
        .get()
        .then(setSettings)
        .catch(() => undefined);
    };
    const offStatus = bridge.onStatus((s) => {
      setConnection(s);
      if (s === 'connected') resync();
    });
    setConnection(bridge.status());
    if (bridge.status() !== 'refused') resync();
    return () => [offState, offProgress, offStatus].forEach((off) => off());
  }, [api, bridge, reportError]);

  const dismissAlert = useCallback((id: number) => setAlerts((a) => a.filter((x) => x.id !== id)), []);

  return { api, state, settings, progress, connection, alerts, dismissAlert, run, reportError, refreshSettings };
}
