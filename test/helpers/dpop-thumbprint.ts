import { createHash } from 'node:crypto';
import type { DpopPublicJwk } from '../../shared/contracts/gateway';

/** RFC 7638 thumbprint (SHA-256, base64url) of a device's public key: what the gateway stores as its jkt. */
export function dpopThumbprint(jwk: DpopPublicJwk): string {
  return createHash('sha256').update(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y })).digest('base64url');
}
