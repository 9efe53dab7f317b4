import { PDFDocument, StandardFonts, rgb, type PDFFont } from 'pdf-lib';

/** Page points per image pixel: the page is sized to the image at 96 pixels per inch. */
export const POINTS_PER_PIXEL = 72 / 96;

/**
 * Text the standard Helvetica font can show (WinAnsi): accents are dropped when the letter exists
 * without them (ā → a), anything else unshowable becomes '?'. The caption stays real, searchable text.
 */
export function toWinAnsi(text: string, font: PDFFont): string {
  let out = '';
  for (const ch of text.replace(/[\t\r]/g, ' ')) {
    if (ch === '\n') {
      out += ch;
      continue;
    }
    const candidates = [ch, ch.normalize('NFD').replace(/[\u0300-\u036f]/g, '')];
    let chosen = '?';
    for (const c of candidates) {
      if (!c) continue;
      try {
        font.encodeText(c);
        font.widthOfTextAtSize(c, 10);
        chosen = c;
        break;
      } catch {
        // not in WinAnsi
      }
    }
    out += chosen;
  }
  return out;
}

function wrapByWidth(text: string, font: PDFFont, size: number, maxWidth: number): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (const word of paragraph.split(/\s+/).filter(Boolean)) {
      const next = line ? `${line} ${word}` : word;
      if (font.widthOfTextAtSize(next, size) <= maxWidth || !line) {
        line = next;
      } else {
        lines.push(line);
        line = word;
      }
    }
    if (line) lines.push(line);
  }
  return lines;
}

/** One page sized to the image, the JPEG embedded as is, and the caption (if any) as real text under it. */
export async function jpegToPdf(jpeg: Uint8Array, widthPx: number, heightPx: number, caption: string | null): Promise<Buffer> {
  const doc = await PDFDocument.create({ updateMetadata: false });
  const image = await doc.embedJpg(jpeg);
  const imgW = widthPx * POINTS_PER_PIXEL;
  const imgH = heightPx * POINTS_PER_PIXEL;
  let lines: string[] = [];
  let fontSize = 0;
  let pad = 0;
  let font: PDFFont | null = null;
  if (caption && caption.trim()) {
    font = await doc.embedFont(StandardFonts.Helvetica);
    fontSize = Math.min(48, Math.max(9, imgW / 45));
    pad = fontSize * 0.6;
    lines = wrapByWidth(toWinAnsi(caption, font), font, fontSize, imgW - 2 * pad);
  }
  const lineHeight = fontSize * 1.3;
  const stripH = lines.length ? 2 * pad + lines.length * lineHeight : 0;
  const page = doc.addPage([imgW, imgH + stripH]);
  page.drawImage(image, { x: 0, y: stripH, width: imgW, height: imgH });
  if (font) {
    lines.forEach((line, i) => {
      page.drawText(line, { x: pad, y: stripH - pad - fontSize * 0.95 - i * lineHeight, size: fontSize, font, color: rgb(0.07, 0.07, 0.07) });
    });
  }
  doc.setProducer('ClinicPro Images');
  doc.setCreator('ClinicPro Images');
  return Buffer.from(await doc.save({ useObjectStreams: true }));
}
