/**
 * The phone QR, shown only as an image so nothing in it can run: a PNG data URL as is, an SVG as a base64
 * `data:image/svg+xml` URL (rendered with scripts disabled).
 */
export function qrImageSource(phone: { qrSvg: string; qrPngDataUrl?: string | undefined }, encodeBase64: (text: string) => string): string | null {
  if (phone.qrPngDataUrl && /^data:image\/png;base64,[A-Za-z0-9+/]+=*$/.test(phone.qrPngDataUrl)) return phone.qrPngDataUrl;
  const svg = phone.qrSvg.trim();
  if (!svg.startsWith('<svg') && !svg.startsWith('<?xml')) return null;
  return `data:image/svg+xml;base64,${encodeBase64(svg)}`;
}
