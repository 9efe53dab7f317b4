/**
 * The phone's side of the LAN protocol (electron/lan/README.md, shared/contracts/lan.ts): exchange the QR token,
 * poll the session, upload one photo. Uploads use XMLHttpRequest for upload progress; a watchdog aborts an
 * attempt that makes no progress for 45 s (a phone that walked out of Wi-Fi range keeps the socket open).
 */
import type { LAN_ROUTES as LanRoutes, ExchangeResponse, HoldResponse, SessionStatusResponse, UploadResponse, UPLOAD_FIELDS as UploadFieldNames } from '../../../shared/contracts/lan';
import type { ConsentKey, LateralityKey } from '../../../shared/coded/values';
import { parseErrorBody, RequestFailed } from './failures';

/** The routes, checked against the contract by type (importing the contract's values would pull its schema library into the page). */
export const ROUTES: Pick<typeof LanRoutes, 'exchange' | 'session' | 'upload' | 'hold' | 'decline'> = {
  exchange: '/api/images/v1/session/exchange',
  session: '/api/images/v1/session',
  upload: '/api/images/v1/upload',
  hold: '/api/images/v1/photos/hold',
  decline: '/api/images/v1/session/decline',
};
const FIELDS: typeof UploadFieldNames = { clientUploadId: 'clientUploadId', bodySiteCode: 'bodySiteCode', laterality: 'laterality', consent: 'consent', file: 'file' };

export interface UploadRequest {
  credential: string;
  clientUploadId: string;
  bodySiteCode?: string;
  laterality?: LateralityKey;
  consent?: ConsentKey;
  file: Blob;
}

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
  /** The nurse says this is not the patient: the PC is told, and this phone leaves the session. */
  decline(credential: string): Promise<void>;
}

/** An upload attempt without progress for this long is aborted; a JSON request after REQUEST_TIMEOUT_MS. */
const STALL_MS = 45_000;
const REQUEST_TIMEOUT_MS = 15_000;
const JSON_TYPE = { 'content-type': 'application/json' };
const bearer = (credential: string): { authorization: string } => ({ authorization: `Bearer ${credential}` });

export function createHttpTransport(setTimer: (fn: () => void, ms: number) => unknown, clearTimer: (handle: unknown) => void): Transport {
  async function json<T>(path: string, init: RequestInit): Promise<T> {
    const ctrl = new AbortController();
    let timedOut = false;
    const timer = setTimer(() => {
      timedOut = true;
      ctrl.abort();
    }, REQUEST_TIMEOUT_MS);
    let res: Response;
    let text: string;
    try {
      res = await fetch(path, { ...init, signal: ctrl.signal, cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' });
      text = await res.text();
    } catch {
      throw new RequestFailed(timedOut ? { kind: 'timeout' } : { kind: 'network' });
    } finally {
      clearTimer(timer);
    }
    if (!res.ok) throw new RequestFailed({ kind: 'http', status: res.status, body: parseErrorBody(res.status, text, res.headers.get('retry-after')) });
    try {
      return JSON.parse(text) as T;
    } catch {
      // A 200 that is not our JSON: something between the phone and the PC answered.
      throw new RequestFailed({ kind: 'network' });
    }
  }

  return {
    exchange: (token) => json<ExchangeResponse>(ROUTES.exchange, { method: 'POST', headers: JSON_TYPE, body: JSON.stringify({ token }) }),
    status: (credential) => json<SessionStatusResponse>(ROUTES.session, { method: 'GET', headers: bearer(credential) }),
    decline: (credential) => json<unknown>(ROUTES.decline, { method: 'POST', headers: bearer(credential) }).then(() => undefined),
    hold: (credential, clientUploadIds) => json<HoldResponse>(ROUTES.hold, { method: 'POST', headers: { ...bearer(credential), ...JSON_TYPE }, body: JSON.stringify({ clientUploadIds }) }),
    upload: (req, hooks) =>
      new Promise<UploadResponse>((resolve, reject) => {
        if (hooks.signal.aborted) {
          reject(new RequestFailed({ kind: 'aborted' }));
          return;
        }
        const form = new FormData();
        // Order matters: the fields, then exactly one file part (the server validates fields before the bytes).
        form.append(FIELDS.clientUploadId, req.clientUploadId);
        if (req.bodySiteCode !== undefined) form.append(FIELDS.bodySiteCode, req.bodySiteCode);
        if (req.laterality !== undefined) form.append(FIELDS.laterality, req.laterality);
        if (req.consent !== undefined) form.append(FIELDS.consent, req.consent);
        form.append(FIELDS.file, req.file, 'photo');

        const xhr = new XMLHttpRequest();
        let settled = false;
        let watchdog: unknown;
        const finish = (fn: () => void): void => {
          if (settled) return;
          settled = true;
          clearTimer(watchdog);
          hooks.signal.removeEventListener('abort', onAbort);
          fn();
        };
        const arm = (): void => {
          clearTimer(watchdog);
          watchdog = setTimer(() => {
            finish(() => reject(new RequestFailed({ kind: 'timeout' })));
            xhr.abort();
          }, STALL_MS);
        };
        const onAbort = (): void => {
          finish(() => reject(new RequestFailed({ kind: 'aborted' })));
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
        xhr.onerror = () => finish(() => reject(new RequestFailed({ kind: 'network' })));
        xhr.onabort = () => finish(() => reject(new RequestFailed({ kind: 'aborted' })));
        xhr.onload = () =>
          finish(() => {
            const text = typeof xhr.responseText === 'string' ? xhr.responseText : '';
            if (xhr.status >= 200 && xhr.status < 300) {
              try {
                resolve(JSON.parse(text) as UploadResponse);
              } catch {
                reject(new RequestFailed({ kind: 'network' }));
              }
              return;
            }
            // status 0 means no answer at all (connection refused or reset).
            if (xhr.status === 0) reject(new RequestFailed({ kind: 'network' }));
            else reject(new RequestFailed({ kind: 'http', status: xhr.status, body: parseErrorBody(xhr.status, text, xhr.getResponseHeader('retry-after')) }));
          });
        arm();
        xhr.send(form);
      }),
  };
}
