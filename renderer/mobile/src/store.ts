/**
 * The upload credential: in memory, mirrored to sessionStorage (this tab only) so a reload by the phone itself does
 * not strand the nurse; why, and what is never stored: renderer/mobile/README.md, "Rules".
 */
import { SECRET_PATTERN } from './token';

const KEY = 'clinicpro-images.phone';

export interface SavedCredential {
  credential: string;
  maxUploadFileBytes: number;
}

type StorageLike = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

/** Storage may be disabled or full (private mode on some browsers): the page keeps working from memory. */
function quietly<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

const storage = (): StorageLike | undefined => quietly(() => window.sessionStorage);

export function saveCredential(saved: SavedCredential, s: StorageLike | undefined = storage()): void {
  quietly(() => s?.setItem(KEY, JSON.stringify(saved)));
}

export function loadCredential(s: StorageLike | undefined = storage()): SavedCredential | undefined {
  const raw = quietly(() => s?.getItem(KEY));
  if (raw === null || raw === undefined) return undefined;
  const v = quietly(() => JSON.parse(raw) as Partial<SavedCredential> | null);
  if (typeof v?.credential === 'string' && SECRET_PATTERN.test(v.credential) && typeof v.maxUploadFileBytes === 'number') {
    return { credential: v.credential, maxUploadFileBytes: v.maxUploadFileBytes };
  }
  forgetCredential(s);
  return undefined;
}

export function forgetCredential(s: StorageLike | undefined = storage()): void {
  quietly(() => s?.removeItem(KEY));
}
