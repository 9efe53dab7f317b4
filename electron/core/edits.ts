/** Bridge edits (fractions of the ROTATED image) → imaging edits (pixels of the upright master: crop first, rotate after). */
import type { ImageEdits } from '../../shared/contracts/bridge';
import type { Annotation as ImagingAnnotation, Edits as ImagingEdits, Point } from '../imaging/types';

const COLOURS: Record<string, string> = { red: '#ff2d2d', yellow: '#ffd400', white: '#ffffff', black: '#000000' };
const MIN_CROP_PX = 8;

const UNROTATE: Record<ImageEdits['rotate'], (u: number, v: number) => { x: number; y: number }> = {
  0: (u, v) => ({ x: u, y: v }),
  90: (u, v) => ({ x: v, y: 1 - u }),
  180: (u, v) => ({ x: 1 - u, y: 1 - v }),
  270: (u, v) => ({ x: 1 - v, y: u }),
};

/** Fractions of the rotated image → of the master. */
export function unrotate(rotate: ImageEdits['rotate'], u: number, v: number): { x: number; y: number } {
  return UNROTATE[rotate](u, v);
}

const clamp = (n: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, n));

export function toImagingEdits(edits: ImageEdits, masterWidth: number, masterHeight: number, captionStrip?: string): ImagingEdits {
  const px = (p: { x: number; y: number }): Point => {
    const m = unrotate(edits.rotate, p.x, p.y);
    return { x: clamp(m.x * masterWidth, 0, masterWidth), y: clamp(m.y * masterHeight, 0, masterHeight) };
  };
  const shorter = Math.min(masterWidth, masterHeight);
  const annotations: ImagingAnnotation[] = edits.annotations.map((a) => {
    switch (a.kind) {
      case 'arrow':
        return { kind: 'arrow', from: px(a.from), to: px(a.to), color: COLOURS[a.colour] };
      case 'circle':
        return { kind: 'circle', center: px(a.centre), radius: Math.max(1, a.radius * shorter), color: COLOURS[a.colour] };
      case 'text':
        return { kind: 'text', at: px(a.at), text: a.text, color: COLOURS[a.colour], size: Math.max(12, Math.round(shorter / 25)) };
    }
  });
  const out: ImagingEdits = { rotate: edits.rotate, annotations };
  if (edits.crop !== undefined) {
    const c = edits.crop;
    const a = px(c);
    const b = px({ x: Math.min(1, c.x + c.width), y: Math.min(1, c.y + c.height) });
    const x0 = Math.round(Math.min(a.x, b.x));
    const y0 = Math.round(Math.min(a.y, b.y));
    const width = Math.max(MIN_CROP_PX, Math.round(Math.max(a.x, b.x)) - x0);
    const height = Math.max(MIN_CROP_PX, Math.round(Math.max(a.y, b.y)) - y0);
    out.crop = { x: Math.min(x0, masterWidth - width), y: Math.min(y0, masterHeight - height), width, height };
  }
  if (captionStrip !== undefined && captionStrip.length > 0) out.captionStrip = captionStrip;
  return out;
}
