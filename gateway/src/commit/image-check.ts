/**
 * Is an attachment a well-formed image and nothing else (rules: gateway/README.md)? Structure that parses,
 * no byte after the image's end (polyglots carry their payload there), no metadata, no PDF scripts. A PDF
 * keeps its document information and object streams are not looked into: scanner PDFs pass through as
 * they are. The companion renders every attachment from pixels, so what fails came from somewhere else.
 */
import { AppError } from '../../../shared/errors';
import type { AttachmentKind } from '../fhir/builders';

type Verdict = string | null;
const bad = (why: string): Verdict => why;

/** APPn segments a plain encoder writes: JFIF (APP0), ICC profile (APP2), Adobe colour transform (APP14). */
const JPEG_ALLOWED_APP = new Set([0xe0, 0xe2, 0xee]);

/** Skips entropy-coded data from `i`; returns the index of the next marker's 0xFF (or -1). */
function skipScan(b: Buffer, i: number): number {
  for (let j = i; j + 1 < b.length; j++) {
    if (b[j] !== 0xff) continue;
    const next = b[j + 1] as number;
    if (next === 0x00 || (next >= 0xd0 && next <= 0xd7) || next === 0xff) continue;
    return j;
  }
  return -1;
}

function checkJpeg(b: Buffer): Verdict {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return bad('no JPEG start');
  let i = 2;
  let scans = 0;
  while (i + 1 < b.length) {
    if (b[i] !== 0xff) return bad('JPEG segment expected');
    const marker = b[i + 1] as number;
    if (marker === 0xff) {
      i += 1; // fill byte
      continue;
    }
    if (marker === 0xd9) {
      if (scans === 0) return bad('JPEG has no image data');
      return i + 2 === b.length ? null : bad('data after the end of the JPEG');
    }
    if (i + 4 > b.length) return bad('JPEG cut short');
    const len = b.readUInt16BE(i + 2);
    if (len < 2 || i + 2 + len > b.length) return bad('JPEG segment length out of bounds');
    if (marker === 0xfe) return bad('JPEG comment (COM) segment');
    if (marker >= 0xe0 && marker <= 0xef && !JPEG_ALLOWED_APP.has(marker)) return bad(`JPEG metadata segment APP${marker - 0xe0}`);
    i += 2 + len;
    if (marker === 0xda) {
      scans += 1;
      const next = skipScan(b, i);
      if (next === -1) return bad('JPEG has no end marker');
      i = next;
    }
  }
  return bad('JPEG has no end marker');
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const PNG_METADATA = new Set(['tEXt', 'zTXt', 'iTXt', 'eXIf', 'tIME']);

function checkPng(b: Buffer): Verdict {
  if (!b.subarray(0, 8).equals(PNG_SIGNATURE)) return bad('no PNG signature');
  let i = 8;
  let first = true;
  while (i + 12 <= b.length) {
    const len = b.readUInt32BE(i);
    const type = b.toString('latin1', i + 4, i + 8);
    if (!/^[A-Za-z]{4}$/.test(type) || i + 12 + len > b.length) return bad('PNG chunk out of bounds');
    if (first && type !== 'IHDR') return bad('PNG does not start with IHDR');
    first = false;
    if (PNG_METADATA.has(type)) return bad(`PNG metadata chunk ${type}`);
    i += 12 + len;
    if (type === 'IEND') return i === b.length ? null : bad('data after the end of the PNG');
  }
  return bad('PNG has no IEND');
}

/** EXIF, GPS, XMP, IPTC, Photoshop, and free-text tags (description, make, model, artist, software…). */
const TIFF_METADATA_TAGS = new Set([34665, 34853, 700, 33723, 34377, 270, 271, 272, 305, 315, 316, 33432, 37510, 40965]);
const TIFF_TYPE_SIZE: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 16: 8, 17: 8, 18: 8 };
/** Offset/byte-count pairs: strips and tiles (and JPEG interchange), whose data the image ends with. */
const TIFF_DATA_PAIRS: [number, number][] = [
  [273, 279],
  [324, 325],
  [513, 514],
];

function checkTiff(b: Buffer): Verdict {
  if (b.length < 8) return bad('TIFF cut short');
  const le = b[0] === 0x49;
  const u16 = (o: number): number => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  if (u16(2) !== 42) return bad('not a classic TIFF');
  let end = 8;
  const seen = new Set<number>();
  for (let ifd = u32(4); ifd !== 0; ) {
    if (seen.has(ifd) || seen.size > 64 || ifd + 2 > b.length) return bad('TIFF directory out of bounds');
    seen.add(ifd);
    const count = u16(ifd);
    const after = ifd + 2 + count * 12;
    if (after + 4 > b.length) return bad('TIFF directory out of bounds');
    end = Math.max(end, after + 4);
    const values = new Map<number, number[]>();
    for (let k = 0; k < count; k++) {
      const e = ifd + 2 + k * 12;
      const tag = u16(e);
      const type = u16(e + 2);
      const n = u32(e + 4);
      if (TIFF_METADATA_TAGS.has(tag)) return bad(`TIFF metadata tag ${tag}`);
      const size = (TIFF_TYPE_SIZE[type] ?? 0) * n;
      if (size === 0 && n !== 0) return bad('TIFF field of unknown type');
      const at = size <= 4 ? e + 8 : u32(e + 8);
      if (at + size > b.length) return bad('TIFF field out of bounds');
      if (size > 4) end = Math.max(end, at + size);
      if (type === 3 || type === 4) values.set(tag, Array.from({ length: Math.min(n, 1 << 20) }, (_, x) => (type === 3 ? u16(at + x * 2) : u32(at + x * 4))));
    }
    for (const [offTag, lenTag] of TIFF_DATA_PAIRS) {
      const offs = values.get(offTag) ?? [];
      const lens = values.get(lenTag) ?? [];
      if (offs.length !== lens.length) return bad('TIFF strips and their sizes disagree');
      for (let x = 0; x < offs.length; x++) {
        const stop = (offs[x] as number) + (lens[x] as number);
        if (stop > b.length) return bad('TIFF image data out of bounds');
        end = Math.max(end, stop);
      }
    }
    ifd = u32(after);
  }
  // Writers pad to an even offset: one byte more is allowed, anything else is carried data.
  return b.length <= end + 1 ? null : bad('data after the end of the TIFF');
}

const PDF_ACTIVE = /\/(JavaScript|JS|Launch|EmbeddedFile|EmbeddedFiles|RichMedia|XFA)\b/;
/** A name written with #xx escapes (`/J#53`) would slip past the look-up above. */
const PDF_ESCAPED_NAME = /\/[A-Za-z]*#[0-9A-Fa-f]{2}/;

/** PDF white-space (NUL included, which `\s` is not). */
const PDF_SPACE = '[\\0\\t\\n\\f\\r ]';
/** `N G ` just before an `obj` keyword: an object's header (checked on a short window, never on the whole data). */
const OBJECT_HEADER_END = new RegExp(`\\d${PDF_SPACE}+\\d+${PDF_SPACE}+$`);
/** How far back an image stream's dictionary is looked for; one further away is not skipped. */
const DICTIONARY_REACH = 4096;

/** True when `data` holds an object header (`12 0 obj`) a reader rebuilding a damaged PDF would take as an object. */
function holdsObject(data: string): boolean {
  for (let at = data.indexOf('obj'); at !== -1; at = data.indexOf('obj', at + 3)) {
    if (OBJECT_HEADER_END.test(data.slice(Math.max(0, at - 32), at))) return true;
  }
  return false;
}

/**
 * The PDF's text with the data of each image stream left out when its length is given directly, it ends where that
 * length says and it holds no object header, `endobj` or `endstream`: an embedded JPEG's bytes may read as anything
 * (`/#d2`, `/JS)`), and a reader takes nothing but pixels from an image's data. Every other stream (an object or
 * cross-reference stream holds dictionaries, a page's content names resources), one whose dictionary is not within
 * DICTIONARY_REACH of it, and one that does not add up is scanned whole. Linear in the file's size.
 */
function withoutStreamData(text: string): string {
  const parts: string[] = [];
  let kept = 0;
  const keyword = /stream(?:\r\n|\n)/g;
  const objectEnd = /endobj|endstream/g; // walked forward with the keywords: where the last object before one ended
  let nextEnd = objectEnd.exec(text);
  let previousEnd = 0;
  for (let m = keyword.exec(text); m !== null; m = keyword.exec(text)) {
    if (text.slice(m.index - 3, m.index) === 'end') continue;
    for (; nextEnd !== null && nextEnd.index < m.index; nextEnd = objectEnd.exec(text)) previousEnd = nextEnd.index + nextEnd[0].length;
    // The stream's dictionary: all that follows the object before it, within reach.
    if (m.index - previousEnd > DICTIONARY_REACH) continue;
    const dictionary = text.slice(previousEnd, m.index);
    if (!/\/Subtype\s*\/Image\b/.test(dictionary) || /\/(ObjStm|XRef)\b/.test(dictionary)) continue;
    const length = /\/Length\s+(\d{1,10})\b(?!\s+\d+\s+R)/.exec(dictionary);
    const start = m.index + m[0].length;
    const end = start + Number(length?.[1] ?? Number.NaN);
    if (!length || end > text.length || !/^\s*endstream/.test(text.slice(end, end + 16))) continue;
    const data = text.slice(start, end);
    if (data.includes('endobj') || data.includes('endstream') || holdsObject(data)) continue;
    parts.push(text.slice(kept, start));
    kept = end;
    keyword.lastIndex = end;
  }
  parts.push(text.slice(kept));
  return parts.join('');
}

function checkPdf(b: Buffer): Verdict {
  if (b.toString('latin1', 0, 5) !== '%PDF-') return bad('no PDF header');
  const text = b.toString('latin1');
  const eof = text.lastIndexOf('%%EOF');
  if (eof === -1) return bad('PDF has no end');
  if (!/^[\r\n]*$/.test(text.slice(eof + 5))) return bad('data after the end of the PDF');
  if (!/startxref\s+\d+\s*$/.test(text.slice(Math.max(0, eof - 64), eof))) return bad('PDF has no cross-reference');
  const outside = withoutStreamData(text);
  if (PDF_ACTIVE.test(outside) || PDF_ESCAPED_NAME.test(outside)) return bad('PDF with scripts, actions or embedded files');
  return null;
}

const CHECKS: Record<AttachmentKind, (b: Buffer) => Verdict> = {
  'image/jpeg': checkJpeg,
  'image/png': checkPng,
  'image/tiff': checkTiff,
  'application/pdf': checkPdf,
};

/** The reason `bytes` is not a clean image of `contentType`, or null when it is. */
export function imageProblem(bytes: Buffer, contentType: AttachmentKind): string | null {
  return CHECKS[contentType](bytes);
}

/** Throws ERR_COMMIT_IMAGE_MALFORMED (detail: field and reason) unless the attachment is a clean image. */
export function checkImageWellFormed(field: 'media' | 'document', data: string, contentType: AttachmentKind): void {
  const problem = imageProblem(Buffer.from(data, 'base64'), contentType);
  if (problem !== null) throw new AppError('ERR_COMMIT_IMAGE_MALFORMED', { detail: `${field}: ${problem}` });
}
