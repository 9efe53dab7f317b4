import { createHash } from 'node:crypto';
import type { CommitRequest } from '../../../shared/contracts/gateway';
import { base64Size } from '../base64';

/** Strings at least this long go to the hash as they are when JSON would not escape them (base64). */
const LARGE_STRING = 1024;

/**
 * sha256 of `value` as JSON with object keys sorted at every level (canonicalJson in ./fingerprint.testkit.ts),
 * without building the text: a large base64 string (the image) is hashed in place, as JSON writes it unchanged.
 */
export function canonicalJsonSha256(value: unknown): string {
  const hash = createHash('sha256');
  let pending = '';
  const write = (v: unknown): void => {
    if (typeof v === 'string' && v.length >= LARGE_STRING && base64Size(v) !== null) {
      hash.update(`${pending}"`);
      hash.update(v);
      pending = '"';
      return;
    }
    if (v === null || typeof v !== 'object') {
      pending += JSON.stringify(v) ?? 'null';
      return;
    }
    if (Array.isArray(v)) {
      pending += '[';
      v.forEach((item, i) => {
        if (i > 0) pending += ',';
        write(item);
      });
      pending += ']';
      return;
    }
    const obj = v as Record<string, unknown>;
    const keys = Object.keys(obj)
      .filter((k) => obj[k] !== undefined)
      .sort();
    pending += '{';
    keys.forEach((k, i) => {
      pending += `${i > 0 ? ',' : ''}${JSON.stringify(k)}:`;
      write(obj[k]);
    });
    pending += '}';
  };
  write(value);
  return hash.update(pending).digest('hex');
}

/**
 * The request fingerprint for idempotency: sha256 of the canonical request. The grant id is left out
 * on purpose: a retry after a relaunch (new grant, same image, same patient) is the same request; so is
 * `resendAfterCheck` (the same image, sent again after a person checked Medtech).
 */
export function commitFingerprint(req: CommitRequest): string {
  const { grantId: _grantId, resendAfterCheck: _resend, ...rest } = req;
  return canonicalJsonSha256(rest);
}
