import QRCode from 'qrcode';

/** The QR code for `url` as an SVG string and a PNG data URL (error correction M, 4-module quiet zone). */
export async function renderQr(url: string): Promise<{ svg: string; pngDataUrl: string }> {
  const options = { errorCorrectionLevel: 'M' as const, margin: 4 };
  const [svg, pngDataUrl] = await Promise.all([
    QRCode.toString(url, { ...options, type: 'svg' }),
    QRCode.toDataURL(url, { ...options, type: 'image/png', scale: 8 }),
  ]);
  return { svg, pngDataUrl };
}
