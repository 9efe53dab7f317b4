import { invalidArgument } from './errors';
import type { Annotation, Edits, Point } from './types';

export const MAX_ANNOTATIONS = 100;
export const MAX_ANNOTATION_TEXT_CHARS = 200;
export const DEFAULT_ANNOTATION_COLOR = '#ffd400';
const COLOR_PATTERN = /^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/;
const FONT_FAMILY = 'DejaVu Sans, Liberation Sans, sans-serif';

export type Region = NonNullable<Edits['crop']>;

const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function checkPoint(name: string, p: unknown, w: number, h: number): Point {
  if (typeof p !== 'object' || p === null) throw invalidArgument(name, 'a point { x, y }', p);
  const { x, y } = p as Partial<Point>;
  if (!isFiniteNumber(x) || x < 0 || x > w) throw invalidArgument(`${name}.x`, `a number from 0 to ${w}`, x);
  if (!isFiniteNumber(y) || y < 0 || y > h) throw invalidArgument(`${name}.y`, `a number from 0 to ${h}`, y);
  return { x, y };
}

function checkColor(name: string, color: unknown): string {
  if (color === undefined) return DEFAULT_ANNOTATION_COLOR;
  if (typeof color !== 'string' || !COLOR_PATTERN.test(color)) throw invalidArgument(name, 'a colour like #ff0000', color);
  return color;
}

/** Validates edits against the master's size; returns the crop region (the whole master when none). */
export function validateEdits(edits: Edits, masterWidth: number, masterHeight: number, maxCaptionChars: number): Region {
  if (typeof edits !== 'object' || edits === null) throw invalidArgument('edits', 'an object', edits);
  if (![0, 90, 180, 270].includes(edits.rotate)) throw invalidArgument('edits.rotate', '0, 90, 180 or 270', edits.rotate);
  let region: Region = { x: 0, y: 0, width: masterWidth, height: masterHeight };
  if (edits.crop !== undefined && edits.crop !== null) {
    const c = edits.crop;
    for (const key of ['x', 'y', 'width', 'height'] as const) {
      const v = c[key];
      if (!Number.isInteger(v) || v < 0) throw invalidArgument(`edits.crop.${key}`, 'a whole number of pixels, 0 or more', v);
    }
    if (c.width < 8 || c.height < 8) throw invalidArgument('edits.crop', 'at least 8×8 pixels', `${c.width}×${c.height}`);
    if (c.x + c.width > masterWidth || c.y + c.height > masterHeight) {
      throw invalidArgument('edits.crop', `a region inside the ${masterWidth}×${masterHeight} image`, `${c.x},${c.y} ${c.width}×${c.height}`);
    }
    region = { x: c.x, y: c.y, width: c.width, height: c.height };
  }
  if (!Array.isArray(edits.annotations)) throw invalidArgument('edits.annotations', 'an array', edits.annotations);
  if (edits.annotations.length > MAX_ANNOTATIONS) throw invalidArgument('edits.annotations', `at most ${MAX_ANNOTATIONS} annotations`, edits.annotations);
  edits.annotations.forEach((a, i) => checkAnnotation(a, `edits.annotations[${i}]`, masterWidth, masterHeight));
  const caption = edits.captionStrip;
  if (caption !== undefined && caption !== null) {
    if (typeof caption !== 'string' || caption.length > maxCaptionChars) {
      throw invalidArgument('edits.captionStrip', `text of at most ${maxCaptionChars} characters`, caption);
    }
  }
  return region;
}

function checkAnnotation(a: Annotation, name: string, w: number, h: number): void {
  if (typeof a !== 'object' || a === null) throw invalidArgument(name, 'an annotation', a);
  switch (a.kind) {
    case 'arrow':
      checkPoint(`${name}.from`, a.from, w, h);
      checkPoint(`${name}.to`, a.to, w, h);
      checkColor(`${name}.color`, a.color);
      return;
    case 'circle':
      checkPoint(`${name}.center`, a.center, w, h);
      if (!isFiniteNumber(a.radius) || a.radius <= 0 || a.radius > Math.max(w, h)) {
        throw invalidArgument(`${name}.radius`, `a number above 0 and at most ${Math.max(w, h)}`, a.radius);
      }
      checkColor(`${name}.color`, a.color);
      return;
    case 'text':
      checkPoint(`${name}.at`, a.at, w, h);
      if (typeof a.text !== 'string' || a.text.trim().length === 0 || a.text.length > MAX_ANNOTATION_TEXT_CHARS) {
        throw invalidArgument(`${name}.text`, `text of 1 to ${MAX_ANNOTATION_TEXT_CHARS} characters`, a.text);
      }
      if (a.size !== undefined && (!isFiniteNumber(a.size) || a.size < 6 || a.size > 1000)) {
        throw invalidArgument(`${name}.size`, 'a font size from 6 to 1000 pixels', a.size);
      }
      checkColor(`${name}.color`, a.color);
      return;
    default:
      throw invalidArgument(`${name}.kind`, "'arrow', 'circle' or 'text'", (a as { kind?: unknown }).kind);
  }
}

/** XML-escapes text and drops characters XML 1.0 cannot carry (control characters, lone surrogates). */
export function escapeXmlText(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '')
    .replace(/[\t\r\n]/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const r1 = (n: number): string => (Math.round(n * 10) / 10).toString();

/**
 * An SVG the size of `region`, holding the annotations (drawn in master coordinates, shifted by the crop).
 * Line widths and default text size scale with the master so marks look the same on any photo.
 */
export function annotationSvg(annotations: Annotation[], region: Region, masterWidth: number, masterHeight: number): string {
  const minSide = Math.min(masterWidth, masterHeight);
  const stroke = Math.max(2, Math.round(minSide / 160));
  const shadow = `stroke="#000000" stroke-opacity="0.55" stroke-width="${stroke * 2}" fill="none" stroke-linecap="round" stroke-linejoin="round"`;
  const parts: string[] = [];
  for (const a of annotations) {
    switch (a.kind) {
      case 'arrow': {
        const color = checkColor('color', a.color);
        const dx = a.to.x - a.from.x;
        const dy = a.to.y - a.from.y;
        const len = Math.hypot(dx, dy) || 1;
        const ux = dx / len;
        const uy = dy / len;
        const head = Math.min(len * 0.6, stroke * 6);
        const bx = a.to.x - ux * head;
        const by = a.to.y - uy * head;
        const lx = bx - uy * head * 0.55;
        const ly = by + ux * head * 0.55;
        const rx = bx + uy * head * 0.55;
        const ry = by - ux * head * 0.55;
        const line = `M${r1(a.from.x)} ${r1(a.from.y)} L${r1(bx)} ${r1(by)}`;
        const tip = `M${r1(a.to.x)} ${r1(a.to.y)} L${r1(lx)} ${r1(ly)} L${r1(rx)} ${r1(ry)} Z`;
        parts.push(`<path d="${line}" ${shadow}/><path d="${tip}" ${shadow}/>`);
        parts.push(`<path d="${line}" stroke="${color}" stroke-width="${stroke}" fill="none" stroke-linecap="round"/>`);
        parts.push(`<path d="${tip}" fill="${color}" stroke="${color}" stroke-width="${stroke}" stroke-linejoin="round"/>`);
        break;
      }
      case 'circle': {
        const color = checkColor('color', a.color);
        const c = `cx="${r1(a.center.x)}" cy="${r1(a.center.y)}" r="${r1(a.radius)}"`;
        parts.push(`<circle ${c} ${shadow}/><circle ${c} stroke="${color}" stroke-width="${stroke}" fill="none"/>`);
        break;
      }
      case 'text': {
        const color = checkColor('color', a.color);
        const size = a.size ?? Math.max(16, Math.round(minSide / 25));
        parts.push(
          `<text x="${r1(a.at.x)}" y="${r1(a.at.y)}" font-family="${FONT_FAMILY}" font-size="${r1(size)}" font-weight="bold" fill="${color}" stroke="#000000" stroke-width="${r1(Math.max(1, size / 10))}" paint-order="stroke">${escapeXmlText(a.text)}</text>`,
        );
        break;
      }
      default: {
        const never: never = a;
        throw invalidArgument('annotation.kind', 'a known kind', never);
      }
    }
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${region.width}" height="${region.height}"><g transform="translate(${-region.x} ${-region.y})">${parts.join('')}</g></svg>`;
}

/** Greedy word wrap to at most `maxChars` per line; words longer than a line are split. */
export function wrapText(text: string, maxChars: number): string[] {
  const limit = Math.max(1, Math.floor(maxChars));
  const lines: string[] = [];
  for (const paragraph of text.split(/\r?\n/)) {
    let line = '';
    for (let word of paragraph.split(/\s+/).filter(Boolean)) {
      while (word.length > limit) {
        if (line) {
          lines.push(line);
          line = '';
        }
        lines.push(word.slice(0, limit));
        word = word.slice(limit);
      }
      if (!line) line = word;
      else if (line.length + 1 + word.length <= limit) line += ` ${word}`;
      else {
        lines.push(line);
        line = word;
      }
    }
    if (line) lines.push(line);
  }
  return lines;
}

/** The caption strip (white, dark text) for an image `width` pixels wide. */
export function captionSvg(text: string, width: number): { svg: string; height: number } {
  const fontSize = Math.min(72, Math.max(12, Math.round(width / 45)));
  const pad = Math.round(fontSize * 0.6);
  const lineHeight = Math.round(fontSize * 1.3);
  // DejaVu Sans averages ~0.55 em per character; 0.6 keeps long lines inside the strip.
  const lines = wrapText(text, (width - 2 * pad) / (fontSize * 0.6));
  const height = Math.max(1, 2 * pad + lines.length * lineHeight);
  const body = lines
    .map((line, i) => `<text x="${pad}" y="${pad + Math.round(fontSize * 0.95) + i * lineHeight}">${escapeXmlText(line)}</text>`)
    .join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="${width}" height="${height}" fill="#ffffff"/><rect width="${width}" height="${Math.max(1, Math.round(fontSize / 12))}" fill="#808080"/><g font-family="${FONT_FAMILY}" font-size="${fontSize}" fill="#111111">${body}</g></svg>`;
  return { svg, height };
}
