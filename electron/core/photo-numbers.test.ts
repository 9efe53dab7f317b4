import { describe, expect, it } from 'vitest';
import { PhotoNumbers } from './phone-capture';

describe('PhotoNumbers', () => {
  it('numbers each capture session from 1, across several holds and phones', () => {
    const n = new PhotoNumbers();
    expect(n.take('aroha', 2)).toEqual([1, 2]);
    expect(n.take('aroha', 1)).toEqual([3]);
    expect(n.take('bob', 1)).toEqual([1]);
  });

  it('labels a held photo by its number, and a photo that was never held by the next free number', () => {
    const n = new PhotoNumbers();
    n.take('aroha', 2);
    expect(n.label('aroha', 2)).toBe('Photo 2');
    expect(n.label('aroha', undefined)).toBe('Photo 3');
    expect(n.label('aroha', undefined)).toBe('Photo 4');
  });
});
