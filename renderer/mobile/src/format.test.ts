import { describe, expect, it } from 'vitest';
import { formatBytes } from '../../common/format';
import { formatBirthDate, photos } from './format';
import { isLateral, siteGroups, siteLabel } from './sites';

describe('format', () => {
  it('shows the birth date as sent, without time-zone shifts', () => {
    expect(formatBirthDate('1985-03-14')).toBe('14 March 1985');
    expect(formatBirthDate('2019-12-01')).toBe('1 December 2019');
    expect(formatBirthDate('1985-13-01')).toBe('1985-13-01');
    expect(formatBirthDate('unknown')).toBe('unknown');
  });
  it('sizes and counts', () => {
    expect(formatBytes(999)).toBe('999 bytes');
    expect(formatBytes(465_123)).toBe('465 KB');
    expect(formatBytes(3_210_000)).toBe('3.2 MB');
    expect(photos(1)).toBe('1 photo');
    expect(photos(5)).toBe('5 photos');
  });
});

describe('body sites', () => {
  it('lists favourites first, then every other site A–Z, once each', () => {
    const g = siteGroups('');
    expect(g.favourites.map((s) => s.display)).toContain('Forearm');
    expect(g.favourites.every((s) => s.favourite === true)).toBe(true);
    expect(g.others.map((s) => s.display)).toEqual([...g.others.map((s) => s.display)].sort((a, b) => a.localeCompare(b)));
    expect(new Set([...g.favourites, ...g.others].map((s) => s.code)).size).toBe(g.favourites.length + g.others.length);
  });
  it('finds sites by synonym and says when left/right applies', () => {
    expect(siteGroups('belly').others.map((s) => s.display)).toEqual(['Abdomen']);
    expect(siteGroups('zzz').others).toEqual([]);
    expect(isLateral('14975008')).toBe(true);
    expect(isLateral('113345001')).toBe(false);
    expect(isLateral(undefined)).toBe(false);
    expect(siteLabel('14975008', 'left')).toBe('Forearm, left');
    expect(siteLabel('14975008', 'bilateral')).toBe('Forearm, both sides');
    expect(siteLabel('000000', undefined)).toBeUndefined();
  });
});
