import { describe, expect, it } from 'vitest';
import { bytesToBase64 } from '../../../common/files';
import { qrImageSource } from './qr';

const b64 = (t: string): string => bytesToBase64(new TextEncoder().encode(t));

describe('QR image source', () => {
  it('prefers a well-formed PNG data URL', () => {
    const png = 'data:image/png;base64,iVBORw0KGgo=';
    expect(qrImageSource({ qrSvg: '<svg/>', qrPngDataUrl: png }, b64)).toBe(png);
  });

  it('wraps the SVG as an image data URL (never markup in the page)', () => {
    const svg = '<svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>';
    const src = qrImageSource({ qrSvg: svg, qrPngDataUrl: 'javascript:alert(1)' }, b64);
    expect(src).toBe(`data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`);
  });

  it('shows nothing for something that is not an SVG', () => {
    expect(qrImageSource({ qrSvg: '<script>alert(1)</script>' }, b64)).toBeNull();
  });
});
