/**
 * Where the upload credential lives: in memory, mirrored to sessionStorage (this tab only, gone when the
 * tab closes). Why sessionStorage: the QR token is single use, and phones reload pages on their own — iOS
 * Safari often discards the tab while the camera is open — so without it one reload would strand the nurse
 * until the GP shows a new QR. The credential alone is useless off the practice LAN, dies after 30 idle
 * minutes and with the session, and is removed as soon as the session is over. No photo, file name or
 * patient detail is ever stored: the patient is read again from the PC after a reload, and photos stay in
 * memory only (never localStorage, IndexedDB or Cache Storage).
 */
import { SECRET_PATTERN } from './token';

const KEY = 'clinicpro-images.phone';

export interface SavedCredential {
  credential: string;
  phoneId: string;
  maxUploadFileBytes: number;
}

type StorageLike = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

function storage(): StorageLike | undefined {
  try {
    return window.sessionStorage;
  } catch {
    return undefined; // storage disabled (private mode on some browsers): memory only
  }
}

export function saveCredential(saved: SavedCredential, s: StorageLike | undefined = storage()): void {
  try {
    s?.setItem(KEY, JSON.stringify(saved));
  } catch {
    // quota or disabled storage: the page keeps working; only a reload would need a new QR
  }
}

export function loadCredential(s: StorageLike | undefined = storage()): SavedCredential | undefined {
  let raw: string | null = null;
  try {
    raw = s?.getItem(KEY) ?? null;
  } catch {
    return undefined;
  }
  if (raw === null) return undefined;
  try {
    const v = JSON.parse(raw) as Partial<SavedCredential>;
    if (typeof v.credential === 'string' && SECRET_PATTERN.test(v.credential) && typeof v.phoneId === 'string' && typeof v.maxUploadFileBytes === 'number') {
      return { credential: v.credential, phoneId: v.phoneId, maxUploadFileBytes: v.maxUploadFileBytes };
    }
  } catch {
    // fall through
  }
  forgetCredential(s);
  return undefined;
}

export function forgetCredential(s: StorageLike | undefined = storage()): void {
  try {
    s?.removeItem(KEY);
  } catch {
    // nothing to do
  }
}
