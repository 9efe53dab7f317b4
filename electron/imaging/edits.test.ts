import { describe, expect, it } from 'vitest';
import { annotationSvg, captionSvg, escapeXmlText, wrapText } from './edits';

describe('escapeXmlText', () => {
  it('escapes markup and drops characters XML cannot hold', () => {
    expect(escapeXmlText(`a<b>&"c'`)).toBe('a&lt;b&gt;&amp;&quot;c&apos;');
    expect(escapeXmlText('x\u0000y\u001Fz')).toBe('xyz');
    expect(escapeXmlText('bad\uD800surrogate')).toBe('badsurrogate');
    expect(escapeXmlText('ok 😀 ā')).toBe('ok 😀 ā');
  });
});

describe('annotationSvg', () => {
  it('never lets annotation text close the element', () => {
    const svg = annotationSvg([{ kind: 'text', at: { x: 1, y: 1 }, text: '</text><script>alert(1)</script>' }], { x: 0, y: 0, width: 10, height: 10 }, 10, 10);
    expect(svg).not.toContain('<script>');
    expect(svg.match(/<text /g)?.length).toBe(1);
  });

  it('shifts master coordinates by the crop origin', () => {
    const svg = annotationSvg([{ kind: 'circle', center: { x: 50, y: 40 }, radius: 5 }], { x: 30, y: 20, width: 40, height: 40 }, 100, 100);
    expect(svg).toContain('width="40" height="40"');
    expect(svg).toContain('translate(-30 -20)');
  });
});

describe('caption strip text', () => {
  it('wraps on words and splits words longer than a line', () => {
    expect(wrapText('left forearm wound close-up', 12)).toEqual(['left forearm', 'wound', 'close-up']);
    expect(wrapText('abcdefghijkl', 5)).toEqual(['abcde', 'fghij', 'kl']);
    expect(wrapText('line one\nline two', 40)).toEqual(['line one', 'line two']);
  });

  it('grows the strip with the number of lines', () => {
    const one = captionSvg('short', 800);
    const many = captionSvg('word '.repeat(100), 800);
    expect(many.height).toBeGreaterThan(one.height * 3);
    expect(one.svg).toContain('width="800"');
  });
});
