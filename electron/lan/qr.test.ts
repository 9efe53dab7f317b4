import jsQR from 'jsqr';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { renderQr } from './qr';

describe('renderQr', () => {
  it('the PNG decodes (jsQR, real round trip) to exactly the URL, and the SVG is an SVG', async () => {
    const url = 'http://192.168.1.23:47800/m/#t=QqphPEG3kmoU_fcO6bBuSsHv7vWWnKzQTbpyCmOLw70';
    const qr = await renderQr(url);
    expect(qr.svg.startsWith('<svg')).toBe(true);
    const png = Buffer.from(qr.pngDataUrl.replace(/^data:image\/png;base64,/, ''), 'base64');
    const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    const decoded = jsQR(new Uint8ClampedArray(data.buffer, data.byteOffset, data.length), info.width, info.height);
    expect(decoded?.data).toBe(url);
  });
});
