/**
 * Colour contrast of the stylesheet's palette (WCAG 2.x relative luminance): every text colour used on its
 * background reaches 4.5:1. Reads the real styles.css, so changing a colour there is checked here.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const css = readFileSync(new URL('./styles.css', import.meta.url), 'utf8');
const vars = new Map([...css.matchAll(/--([a-z0-9-]+):\s*(#[0-9a-f]{6})/gi)].map((m) => [m[1]!, m[2]!.toLowerCase()]));

function colour(ref: string): string {
  if (ref.startsWith('#')) return ref;
  const v = vars.get(ref);
  if (!v) throw new Error(`no colour variable --${ref} in styles.css`);
  return v;
}

function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
}

function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(colour(a)), luminance(colour(b))].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
}

/** [text, background] as used in styles.css. */
const PAIRS: [string, string][] = [
  ['text', 'bg'],
  ['text', 'surface'],
  ['muted', 'surface'],
  ['muted', 'bg'],
  ['muted', 'surface-2'],
  ['#ffffff', 'primary'],
  ['#ffffff', 'primary-hover'],
  ['#ffffff', 'commit'],
  ['#ffffff', 'danger'],
  ['primary', 'surface'],
  ['primary', 'primary-soft'],
  ['muted', 'primary-soft'], // labels in the patient banner and the "is this the patient?" card
  ['text', 'primary-soft'],
  ['danger', 'surface'],
  ['danger', 'danger-soft'],
  ['warn-text', 'warn-soft'],
  ['warn-text', 'surface'],
  ['ok-text', 'ok-soft'],
  ['info-text', 'info-soft'],
  ['#3d4853', '#eef1f4'], // neutral badge
  ['#555f6a', '#eceff2'], // disabled button text
  ['muted', '#eef1f4'], // source tag
  ['muted', '#fbfaf6'], // "belongs to" group
  ['#8a5a00', 'surface'], // favourite star
  ['#8a5a00', 'primary-soft'], // favourite star on the active option
];

describe('colour contrast', () => {
  it('finds the palette in styles.css', () => {
    expect(vars.size).toBeGreaterThan(15);
  });

  it.each(PAIRS)('%s on %s is at least 4.5:1', (fg, bg) => {
    expect(contrast(fg, bg)).toBeGreaterThanOrEqual(4.5);
  });

  it('would catch a pale grey on white', () => {
    expect(contrast('#999999', '#ffffff')).toBeLessThan(4.5);
  });
});
