import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ImageEdits as ImageEditsSchema, type ImageEdits } from '../../../../shared/contracts/bridge';
import { Value } from '@sinclair/typebox/value';
import { addAnnotation, circleRadius, isMeaningfulArrow, rectFrom, rotateEdits, rotatedSize, toFraction, undoLastAnnotation } from './geometry';

const NO_EDITS: ImageEdits = { rotate: 0, annotations: [] };

/** Where a fraction point of the rotated image lands on the original (unrotated) pixels: the ground truth. */
function toOriginal(p: { x: number; y: number }, rotate: ImageEdits['rotate'], W: number, H: number): { x: number; y: number } {
  const { width: w, height: h } = rotatedSize(W, H, rotate);
  const X = p.x * w;
  const Y = p.y * h;
  switch (rotate) {
    case 0:
      return { x: X, y: Y };
    case 90: // clockwise: original (x, y) → (H − y, x)
      return { x: Y, y: H - X };
    case 180:
      return { x: W - X, y: H - Y };
    case 270:
      return { x: W - Y, y: X };
  }
}

const frac = fc.double({ min: 0, max: 1, noNaN: true });

describe('editor geometry', () => {
  it('rotating keeps every mark on the same spot of the photo (property)', () => {
    fc.assert(
      fc.property(frac, frac, fc.constantFrom<ImageEdits['rotate']>(0, 90, 180, 270), fc.constantFrom<'left' | 'right'>('left', 'right'), (x, y, rotate, dir) => {
        const W = 4032;
        const H = 3024;
        const before: ImageEdits = { rotate, annotations: [{ kind: 'text', at: { x, y }, text: 'a', colour: 'red' }] };
        const after = rotateEdits(before, dir);
        const a = after.annotations[0]!;
        if (a.kind !== 'text') throw new Error('kind changed');
        const p0 = toOriginal({ x, y }, rotate, W, H);
        const p1 = toOriginal(a.at, after.rotate, W, H);
        expect(p1.x).toBeCloseTo(p0.x, -1);
        expect(p1.y).toBeCloseTo(p0.y, -1);
      }),
    );
  });

  it('rotating carries the crop rectangle along and stays valid for the contract', () => {
    const e: ImageEdits = { rotate: 0, crop: { x: 0.1, y: 0.2, width: 0.3, height: 0.4 }, annotations: [] };
    const r = rotateEdits(e, 'right');
    expect(r.rotate).toBe(90);
    expect(r.crop).toEqual({ x: 0.4, y: 0.1, width: 0.4, height: 0.3 });
    expect(rotateEdits(r, 'left')).toEqual(e);
    let four = e;
    for (let i = 0; i < 4; i++) four = rotateEdits(four, 'left');
    expect(four).toEqual(e);
    expect(Value.Check(ImageEditsSchema, r)).toBe(true);
  });

  it('maps pointer positions to clamped fractions', () => {
    const box = { left: 100, top: 50, width: 400, height: 200 };
    expect(toFraction(300, 150, box)).toEqual({ x: 0.5, y: 0.5 });
    expect(toFraction(0, 1000, box)).toEqual({ x: 0, y: 1 });
    expect(toFraction(1, 1, { left: 0, top: 0, width: 0, height: 0 })).toEqual({ x: 0, y: 0 });
  });

  it('makes a crop from two corners in any order, and ignores a slip', () => {
    expect(rectFrom({ x: 0.8, y: 0.9 }, { x: 0.2, y: 0.1 })).toEqual({ x: 0.2, y: 0.1, width: 0.6, height: 0.8 });
    expect(rectFrom({ x: 0.5, y: 0.5 }, { x: 0.51, y: 0.9 })).toBeNull();
  });

  it('measures circles against the shorter edge', () => {
    // 400×200 image: 50 px right of centre = 0.125 of width; shorter edge 200 → radius 0.25.
    expect(circleRadius({ x: 0.5, y: 0.5 }, { x: 0.625, y: 0.5 }, 400, 200)).toBe(0.25);
    expect(circleRadius({ x: 0.5, y: 0.5 }, { x: 0.5, y: 0.5 }, 400, 200)).toBe(0.01);
    expect(isMeaningfulArrow({ x: 0.1, y: 0.1 }, { x: 0.105, y: 0.1 })).toBe(false);
  });

  it('adds and undoes marks, never beyond the contract limit of 50', () => {
    let e = NO_EDITS;
    for (let i = 0; i < 60; i++) e = addAnnotation(e, { kind: 'circle', centre: { x: 0.5, y: 0.5 }, radius: 0.1, colour: 'yellow' });
    expect(e.annotations).toHaveLength(50);
    expect(Value.Check(ImageEditsSchema, e)).toBe(true);
    expect(undoLastAnnotation(e).annotations).toHaveLength(49);
    expect(undoLastAnnotation(NO_EDITS)).toEqual(NO_EDITS);
  });
});
