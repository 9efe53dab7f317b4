import type { CommitRequest } from '../../../shared/contracts/gateway';
import { sha256Hex } from '../crypto';

/** JSON with object keys sorted at every level: equal requests give equal text. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

/**
 * The request fingerprint for idempotency: sha256 of the canonical request. The grant id is left out
 * on purpose: a retry after a relaunch (new grant, same image, same patient) is the same request; so is
 * `resendAfterCheck` (the same image, sent again after a person checked Medtech).
 */
export function commitFingerprint(req: CommitRequest): string {
  const { grantId: _grantId, resendAfterCheck: _resend, ...rest } = req;
  return sha256Hex(canonicalJson(rest));
}
