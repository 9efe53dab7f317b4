/**
 * The upload credential: in memory, mirrored to sessionStorage (this tab only) so a reload by the phone itself does
 * not strand the nurse; why, and what is never stored: renderer/mobile/README.md, "Rules".
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
