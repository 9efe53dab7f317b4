/** Reading the QR token from the page address. The token rides in the fragment (`#t=<token>`), never in a request. */
import type { QR_FRAGMENT_PARAM as QrParam } from '../../../shared/contracts/lan';

const PARAM: typeof QrParam = 't';
/** A QR token or credential: 32 random bytes as base64url (shared/contracts/lan.ts `LanSecret`). */
export const SECRET_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export type FragmentToken = { kind: 'none' } | { kind: 'token'; token: string } | { kind: 'malformed' };

/** `#t=<token>` → the token; an empty fragment → none; anything else that names `t` → malformed. */
export function readFragmentToken(hash: string): FragmentToken {
  const raw = hash.startsWith('#') ? hash.slice(1) : hash;
  if (raw === '') return { kind: 'none' };
  const value = new URLSearchParams(raw).get(PARAM);
  if (value === null) return { kind: 'none' };
  return SECRET_PATTERN.test(value) ? { kind: 'token', token: value } : { kind: 'malformed' };
}

/** Drops the fragment from the address bar and history at once, so the token is not left behind. */
export function dropFragment(loc: Pick<Location, 'pathname' | 'search'>, history: Pick<History, 'replaceState'>): void {
  history.replaceState(null, '', `${loc.pathname}${loc.search}`);
}
