/**
 * A v4 UUID for each photo (`clientUploadId`). `crypto.randomUUID` exists only in secure contexts, and the
 * page is served over plain http on the practice LAN, so the UUID is built from `getRandomValues`
 * (available everywhere).
 */
export function uuidV4(fill: (bytes: Uint8Array<ArrayBuffer>) => void = (bytes) => void crypto.getRandomValues(bytes)): string {
  const b = new Uint8Array(16);
  fill(b);
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
