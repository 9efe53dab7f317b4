/**
 * The phone's side of the LAN protocol (electron/lan/README.md, shared/contracts/lan.ts): exchange the QR token,
 * poll the session, upload one photo. Uploads use XMLHttpRequest for upload progress; a watchdog aborts an
 * attempt that makes no progress for 45 s (a phone that walked out of Wi-Fi range keeps the socket open).
 */
import type { LAN_ROUTES as LanRoutes, ExchangeResponse, HoldResponse, SessionStatusResponse, UploadFields, UploadResponse, UPLOAD_FIELDS as UploadFieldNames } from '../../../shared/contracts/lan';
import { parseErrorBody, RequestFailed, type Failure } from './failures';

/** The routes, checked against the contract by type (importing the contract's values would pull its schema library into the page). */
export const ROUTES: Pick<typeof LanRoutes, 'exchange' | 'session' | 'upload' | 'hold' | 'release' | 'decline'> = {
  exchange: '/api/images/v1/session/exchange',
  session: '/api/images/v1/session',
  upload: '/api/images/v1/upload',
  hold: '/api/images/v1/photos/hold',
  release: '/api/images/v1/photos/release',
  decline: '/api/images/v1/session/decline',
};
const FIELDS: typeof UploadFieldNames = { clientUploadId: 'clientUploadId', bodySiteCode: 'bodySiteCode', laterality: 'laterality', consent: 'consent', file: 'file' };

export type UploadRequest = UploadFields & { credential: string; file: Blob };

export interface UploadHooks {
  onProgress(sentBytes: number, totalBytes: number): void;
  signal: AbortSignal;
}

export interface Transport {
  exchange(token: string): Promise<ExchangeResponse>;
  status(credential: string): Promise<SessionStatusResponse>;
  upload(req: UploadRequest, hooks: UploadHooks): Promise<UploadResponse>;
  /** The PC answers with the photos' numbers. */
  hold(credential: string, clientUploadIds: string[]): Promise<HoldResponse>;
  /** Held photos this phone will not send after all: the PC stops waiting for them. */
  release(credential: string, clientUploadIds: string[]): Promise<void>;
  /** The nurse says this is not the patient: the PC is told, and this phone leaves the session. */
  decline(credential: string): Promise<void>;
}

export interface Timers {
  setTimer: (fn: () => void, ms: number) => unknown;
  clearTimer: (handle: unknown) => void;
}

interface Answer {
  status: number;
  text: string;
  retryAfter: string | null;
}

/** An upload attempt without progress for this long is aborted; a JSON request after REQUEST_TIMEOUT_MS. */
const STALL_MS = 45_000;
const REQUEST_TIMEOUT_MS = 15_000;
const JSON_TYPE = { 'content-type': 'application/json' };
const bearer = (credential: string): { authorization: string } => ({ authorization: `Bearer ${credential}` });

function readAnswer<T>({ status, text, retryAfter }: Answer): T {
  // status 0 means no answer at all (connection refused or reset).
  if (status === 0) throw new RequestFailed({ kind: 'network' });
  if (status < 200 || status > 299) throw new RequestFailed({ kind: 'http', status, body: parseErrorBody(status, text, retryAfter) });
  try {
    return JSON.parse(text) as T;
  } catch {
    // A 2xx that is not our JSON: something between the phone and the PC answered.
    throw new RequestFailed({ kind: 'network' });
  }
}

async function fetchJson<T>(timers: Timers, path: string, init: RequestInit): Promise<T> {
  const ctrl = new AbortController();
  let timedOut = false;
  const timer = timers.setTimer(() => {
    timedOut = true;
    ctrl.abort();
  }, REQUEST_TIMEOUT_MS);
  let answer: Answer;
  try {
    const res = await fetch(path, { ...init, signal: ctrl.signal, cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' });
    answer = { status: res.status, text: await res.text(), retryAfter: res.headers.get('retry-after') };
  } catch {
    throw new RequestFailed(timedOut ? { kind: 'timeout' } : { kind: 'network' });
  } finally {
    timers.clearTimer(timer);
  }
  return readAnswer<T>(answer);
}

/** Order matters: the fields, then exactly one file part (the server validates fields before the bytes). */
function uploadForm(req: UploadRequest): FormData {
  const form = new FormData();
  form.append(FIELDS.clientUploadId, req.clientUploadId);
  for (const key of ['bodySiteCode', 'laterality', 'consent'] as const) {
    const value = req[key];
    if (value !== undefined) form.append(FIELDS[key], value);
  }
  form.append(FIELDS.file, req.file, 'photo');
  return form;
}

function sendPhoto(timers: Timers, req: UploadRequest, hooks: UploadHooks): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    if (hooks.signal.aborted) {
      reject(new RequestFailed({ kind: 'aborted' }));
      return;
    }
    const xhr = new XMLHttpRequest();
    let settled = false;
    let watchdog: unknown;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      timers.clearTimer(watchdog);
      hooks.signal.removeEventListener('abort', onAbort);
      fn();
    };
    const fail = (failure: Failure): void => finish(() => reject(new RequestFailed(failure)));
    const arm = (): void => {
      timers.clearTimer(watchdog);
      watchdog = timers.setTimer(() => {
        fail({ kind: 'timeout' });
        xhr.abort();
      }, STALL_MS);
    };
    const onAbort = (): void => {
      fail({ kind: 'aborted' });
      xhr.abort();
    };
    hooks.signal.addEventListener('abort', onAbort);
    xhr.open('POST', ROUTES.upload);
    xhr.setRequestHeader('authorization', `Bearer ${req.credential}`);
    xhr.responseType = 'text';
    xhr.upload.onprogress = (e) => {
      arm();
      hooks.onProgress(e.loaded, e.lengthComputable ? e.total : req.file.size);
    };
    // All bytes sent: the PC now checks and stores the photo; allow it the same grace again.
    xhr.upload.onload = () => arm();
    xhr.onerror = () => fail({ kind: 'network' });
    xhr.onabort = () => fail({ kind: 'aborted' });
    xhr.onload = () => {
      const text = typeof xhr.responseText === 'string' ? xhr.responseText : '';
      finish(() => resolve({ status: xhr.status, text, retryAfter: xhr.getResponseHeader('retry-after') }));
    };
    arm();
    xhr.send(uploadForm(req));
  });
}

export function createHttpTransport(timers: Timers): Transport {
  const json = <T>(path: string, init: RequestInit): Promise<T> => fetchJson<T>(timers, path, init);
  return {
    exchange: (token) => json<ExchangeResponse>(ROUTES.exchange, { method: 'POST', headers: JSON_TYPE, body: JSON.stringify({ token }) }),
    status: (credential) => json<SessionStatusResponse>(ROUTES.session, { method: 'GET', headers: bearer(credential) }),
    decline: (credential) => json<unknown>(ROUTES.decline, { method: 'POST', headers: bearer(credential) }).then(() => undefined),
    release: (credential, clientUploadIds) =>
      json<unknown>(ROUTES.release, { method: 'POST', headers: { ...bearer(credential), ...JSON_TYPE }, body: JSON.stringify({ clientUploadIds }) }).then(() => undefined),
    hold: (credential, clientUploadIds) => json<HoldResponse>(ROUTES.hold, { method: 'POST', headers: { ...bearer(credential), ...JSON_TYPE }, body: JSON.stringify({ clientUploadIds }) }),
    upload: (req, hooks) => sendPhoto(timers, req, hooks).then((answer) => readAnswer<UploadResponse>(answer)),
  };
}
