/**
 * Editor geometry. Everything is in fractions (0..1) of the ROTATED, uncropped image, as the contract's
 * ImageEdits says, so the thumbnail, the preview and the full-size master agree.
 */
import type { Annotation, ImageEdits } from '../../../../shared/contracts/bridge';

type Rotation = ImageEdits['rotate'];
type Rect = NonNullable<ImageEdits['crop']>;
export type Pt = Pick<Rect, 'x' | 'y'>;

const clamp01 = (v: number): number => Math.min(1, Math.max(0, v));
const round = (v: number): number => Math.round(v * 10_000) / 10_000;

export function rotatedSize(width: number, height: number, rotate: Rotation): { width: number; height: number } {
  return rotate === 90 || rotate === 270 ? { width: height, height: width } : { width, height };
}

export function toFraction(clientX: number, clientY: number, box: { left: number; top: number; width: number; height: number }): Pt {
  if (box.width <= 0 || box.height <= 0) return { x: 0, y: 0 };
  return { x: round(clamp01((clientX - box.left) / box.width)), y: round(clamp01((clientY - box.top) / box.height)) };
}

/** The rectangle spanned by two corners; null when too small to be meant (under 2% either way). */
export function rectFrom(a: Pt, b: Pt, minSize = 0.02): Rect | null {
  const x = Math.min(a.x, b.x);
  const y = Math.min(a.y, b.y);
  const width = Math.abs(a.x - b.x);
  const height = Math.abs(a.y - b.y);
  if (width < minSize || height < minSize) return null;
  return { x: round(x), y: round(y), width: round(Math.min(width, 1 - x)), height: round(Math.min(height, 1 - y)) };
}

/** Circle radius as a fraction of the shorter edge (the contract's unit), from centre and edge points. */
export function circleRadius(centre: Pt, edge: Pt, width: number, height: number): number {
  const dx = (edge.x - centre.x) * width;
  const dy = (edge.y - centre.y) * height;
  const r = Math.hypot(dx, dy) / Math.min(width, height);
  return round(Math.min(1, Math.max(0.01, r)));
}

/** Arrow shorter than this (fraction of the diagonal) is treated as a slip. */
export function isMeaningfulArrow(from: Pt, to: Pt): boolean {
  return Math.hypot(to.x - from.x, to.y - from.y) >= 0.02;
}

const cw = (p: Pt): Pt => ({ x: round(1 - p.y), y: round(p.x) });
const ccw = (p: Pt): Pt => ({ x: round(p.y), y: round(1 - p.x) });

function turnAnnotation(a: Annotation, f: (p: Pt) => Pt): Annotation {
  switch (a.kind) {
    case 'arrow':
      return { ...a, from: f(a.from), to: f(a.to) };
    case 'circle':
      return { ...a, centre: f(a.centre) };
    case 'text':
      return { ...a, at: f(a.at) };
  }
}

/** Rotate by 90°, turning the crop and marks with the frame they are stored in, so they stay on the same spot of the photo. */
export function rotateEdits(edits: ImageEdits, direction: 'left' | 'right'): ImageEdits {
  const f = direction === 'right' ? cw : ccw;
  const rotate = (((edits.rotate + (direction === 'right' ? 90 : 270)) % 360) as Rotation);
  const next: ImageEdits = { rotate, annotations: edits.annotations.map((a) => turnAnnotation(a, f)) };
  if (edits.crop) {
    const c = edits.crop;
    next.crop =
      direction === 'right'
        ? { x: round(1 - c.y - c.height), y: round(c.x), width: c.height, height: c.width }
        : { x: round(c.y), y: round(1 - c.x - c.width), width: c.height, height: c.width };
  }
  return next;
}

export function undoLastAnnotation(edits: ImageEdits): ImageEdits {
  return { ...edits, annotations: edits.annotations.slice(0, -1) };
}

/** Keep the 50-annotation contract limit. */
export function addAnnotation(edits: ImageEdits, a: Annotation): ImageEdits {
  if (edits.annotations.length >= 50) return edits;
  return { ...edits, annotations: [...edits.annotations, a] };
}
