import { PDFDocument } from 'pdf-lib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { makeJpegOfAtLeast } from '../sandbox/test-support';
import { imageProblem } from './image-check';

const base = () => sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 200, g: 80, b: 60 } } });

describe('imageProblem: what real encoders write passes', () => {
  it('sharp JPEG (baseline, progressive, with an ICC profile), PNG, TIFF (JPEG and LZW, both byte orders), pdf-lib PDF', async () => {
    const clean: [Buffer, 'image/jpeg' | 'image/png' | 'image/tiff' | 'application/pdf'][] = [
      [await base().jpeg().toBuffer(), 'image/jpeg'],
      [await base().jpeg({ progressive: true, quality: 90 }).toBuffer(), 'image/jpeg'],
      [await base().withIccProfile('srgb').jpeg().toBuffer(), 'image/jpeg'],
      [await makeJpegOfAtLeast(200_000), 'image/jpeg'],
      [await base().png().toBuffer(), 'image/png'],
      [await base().tiff({ compression: 'jpeg', quality: 80 }).toBuffer(), 'image/tiff'],
      [await base().tiff({ compression: 'lzw' }).toBuffer(), 'image/tiff'],
    ];
    const doc = await PDFDocument.create();
    doc.addPage([100, 100]).drawText('caption');
    clean.push([Buffer.from(await doc.save()), 'application/pdf']);
    for (const [bytes, type] of clean) expect(imageProblem(bytes, type), type).toBeNull();
  });
});

describe('imageProblem: a PDF\'s stream data is not read as names', () => {
  /** A pdf-lib PDF with one JPEG whose entropy-coded bytes hold `bytes` (after its scan header), as a photo's may. */
  async function pdfWithJpegHolding(bytes: string): Promise<Buffer> {
    const jpeg = await base().jpeg().toBuffer();
    const eoi = jpeg.length - 2;
    const doc = await PDFDocument.create({ updateMetadata: false });
    const img = await doc.embedJpg(new Uint8Array(Buffer.concat([jpeg.subarray(0, eoi), Buffer.from(bytes, 'latin1'), jpeg.subarray(eoi)])));
    doc.addPage([64, 48]).drawImage(img, { x: 0, y: 0, width: 64, height: 48 });
    return Buffer.from(await doc.save({ useObjectStreams: true }));
  }

  it('an image whose data happens to read `/#d2` or `/JS)` passes (about 1 photo PDF in 10 did not)', async () => {
    expect(imageProblem(await pdfWithJpegHolding('/#d2'), 'application/pdf')).toBeNull();
    expect(imageProblem(await pdfWithJpegHolding('/JS)'), 'application/pdf')).toBeNull();
  });

  it('an action hidden in a stream whose length swallows an object, or one without a direct length, is still refused', async () => {
    const pdf = (await pdfWithJpegHolding('x')).toString('latin1');
    const object = '9 0 obj << /S /JavaScript >> endobj\n'; // the declared length now ends just before the real endstream
    const hidden = pdf.replace(/\/Length (\d+)/, (_, n: string) => `/Length ${Number(n) + 1 + object.length}`).replace('endstream', `${object}endstream`);
    expect(imageProblem(Buffer.from(hidden, 'latin1'), 'application/pdf')).toBe('PDF with scripts, actions or embedded files');
    const indirect = pdf.replace(/\/Length (\d+)/, '/Length 12 0 R').replace('endstream', '/JS endstream');
    expect(imageProblem(Buffer.from(indirect, 'latin1'), 'application/pdf')).toBe('PDF with scripts, actions or embedded files');
  });

  it('a stream made to look like an image, or whose length swallows the end of its object, is scanned whole', async () => {
    const pdf = (await pdfWithJpegHolding('x')).toString('latin1');
    const objects = '9 0 << /S /JavaScript >>';
    const disguised = `20 0 obj\n<< /Type /ObjStm /N 1 /First 4 /obj /Subtype /Image /Length ${objects.length} >>\nstream\n${objects}\nendstream\nendobj\n`;
    expect(imageProblem(Buffer.from(pdf.replace(/\n(?=\d+ 0 obj\n)/, `\n${disguised}`), 'latin1'), 'application/pdf')).toBe('PDF with scripts, actions or embedded files');
    const trailer = 'endstream\nendobj\ntrailer\n<< /Root << /OpenAction << /S /JavaScript >> >> >>\n';
    const swallowed = pdf.replace(/\/Length (\d+)/, (_, n: string) => `/Length ${Number(n) + 1 + trailer.length}`).replace('endstream', `${trailer}endstream`);
    expect(imageProblem(Buffer.from(swallowed, 'latin1'), 'application/pdf')).toBe('PDF with scripts, actions or embedded files');
    const nul = pdf.replace(/\/Length (\d+)/, (_, n: string) => `/Length ${Number(n) + 30}`).replace('endstream', '9\u00000\u0000obj << /JS (x) >> endstream');
    expect(imageProblem(Buffer.from(nul, 'latin1'), 'application/pdf')).toBe('PDF with scripts, actions or embedded files');
  });

  it('a megabyte of digits in an image stream, or of stream keywords, is checked in linear time (no hang)', { timeout: 10_000 }, () => {
    const digits = '1'.repeat(1 << 20);
    const tail = (body: string): string => `${body}\nxref\n0 1\n0000000000 65535 f \ntrailer\n<< /Size 1 >>\nstartxref\n9\n%%EOF\n`;
    const image = tail(`%PDF-1.7\n1 0 obj\n<< /Subtype /Image /Length ${digits.length} >>\nstream\n${digits}\nendstream\nendobj`);
    expect(imageProblem(Buffer.from(image, 'latin1'), 'application/pdf')).toBeNull();
    const keywords = tail(`%PDF-1.7\n1 0 obj\n<< /Subtype /Image /Length 5 >>\n${'stream\n'.repeat(1 << 17)}`);
    expect(imageProblem(Buffer.from(keywords, 'latin1'), 'application/pdf')).toBeNull();
  });

  it('an object stream (or any stream but an image\'s) is scanned: an action in its dictionaries is refused', async () => {
    const pdf = (await pdfWithJpegHolding('x')).toString('latin1');
    const objects = '9 0 << /S /JavaScript /JS (app.alert(1)) >>';
    const objStm = `20 0 obj\n<< /Type /ObjStm /N 1 /First 4 /Length ${objects.length} >>\nstream\n${objects}\nendstream\nendobj\n`;
    const withObjStm = pdf.replace(/\n(?=\d+ 0 obj\n)/, `\n${objStm}`); // before the first object
    expect(withObjStm).toContain(objStm);
    expect(imageProblem(Buffer.from(withObjStm, 'latin1'), 'application/pdf')).toBe('PDF with scripts, actions or embedded files');
  });
});

describe('imageProblem: polyglots and metadata are refused', () => {
  it('JPEG: trailing script or ZIP, EXIF/XMP (APP1), IPTC (APP13), a comment, no end', async () => {
    const jpeg = await base().jpeg().toBuffer();
    expect(imageProblem(Buffer.concat([jpeg, Buffer.from('<script>alert(1)</script>')]), 'image/jpeg')).toBe('data after the end of the JPEG');
    expect(imageProblem(Buffer.concat([jpeg, Buffer.from('PK\x03\x04zipzipzip', 'latin1')]), 'image/jpeg')).toBe('data after the end of the JPEG');
    const exif = await base().withExif({ IFD0: { ImageDescription: 'Canary Testpatient ZZZ0040' } }).jpeg().toBuffer();
    expect(imageProblem(exif, 'image/jpeg')).toBe('JPEG metadata segment APP1');
    const segment = (marker: number, body: string): Buffer => {
      const b = Buffer.from(body, 'latin1');
      return Buffer.concat([Buffer.from([0xff, marker, (b.length + 2) >> 8, (b.length + 2) & 0xff]), b]);
    };
    const insert = (seg: Buffer): Buffer => Buffer.concat([jpeg.subarray(0, 2), seg, jpeg.subarray(2)]);
    expect(imageProblem(insert(segment(0xfe, 'hello <script>')), 'image/jpeg')).toBe('JPEG comment (COM) segment');
    expect(imageProblem(insert(segment(0xed, 'Photoshop 3.0\0')), 'image/jpeg')).toBe('JPEG metadata segment APP13');
    expect(imageProblem(jpeg.subarray(0, jpeg.length - 2), 'image/jpeg')).toBe('JPEG has no end marker');
    expect(imageProblem(insert(Buffer.from([0xff, 0xe0, 0xff, 0xff])), 'image/jpeg')).toBe('JPEG segment length out of bounds');
  });

  it('PNG: trailing data, tEXt/iTXt/eXIf chunks; TIFF: trailing data, description and EXIF tags; PDF: trailing data, JavaScript', async () => {
    const png = await base().png().toBuffer();
    expect(imageProblem(Buffer.concat([png, Buffer.from('<?php system($_GET[1]); ?>')]), 'image/png')).toBe('data after the end of the PNG');
    const text = Buffer.from('tEXtComment\0hello', 'latin1');
    const chunk = Buffer.concat([Buffer.from([0, 0, 0, text.length - 4]), text, Buffer.alloc(4)]);
    expect(imageProblem(Buffer.concat([png.subarray(0, 33), chunk, png.subarray(33)]), 'image/png')).toBe('PNG metadata chunk tEXt');
    const exifPng = await base().withExif({ IFD0: { Artist: 'x' } }).png().toBuffer();
    expect(imageProblem(exifPng, 'image/png')).toMatch(/^PNG metadata chunk (eXIf|zTXt|iTXt|tEXt)$/);

    const tiff = await base().tiff({ compression: 'lzw' }).toBuffer();
    expect(imageProblem(Buffer.concat([tiff, Buffer.alloc(64, 0x41)]), 'image/tiff')).toBe('data after the end of the TIFF');
    // A directory with one text field (ImageDescription, 270) or an EXIF pointer (34665), then the text.
    const withTag = (tag: number): Buffer => {
      const b = Buffer.alloc(34);
      b.write('II*\0', 0, 'latin1');
      b.writeUInt32LE(8, 4);
      b.writeUInt16LE(1, 8);
      b.writeUInt16LE(tag, 10);
      b.writeUInt16LE(tag === 270 ? 2 : 4, 12);
      b.writeUInt32LE(tag === 270 ? 8 : 1, 14);
      b.writeUInt32LE(tag === 270 ? 26 : 26, 18);
      b.writeUInt32LE(0, 22);
      b.write('Canary\0\0', 26, 'latin1');
      return b;
    };
    expect(imageProblem(withTag(270), 'image/tiff')).toBe('TIFF metadata tag 270');
    expect(imageProblem(withTag(34665), 'image/tiff')).toBe('TIFF metadata tag 34665');

    const doc = await PDFDocument.create();
    doc.addPage([100, 100]);
    const pdf = Buffer.from(await doc.save({ useObjectStreams: false }));
    expect(imageProblem(pdf, 'application/pdf')).toBeNull();
    expect(imageProblem(Buffer.concat([pdf, Buffer.from('<html><script>x</script></html>')]), 'application/pdf')).toBe('data after the end of the PDF');
    const js = Buffer.from(pdf.toString('latin1').replace('/Type /Catalog', '/Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert(1)) >>'), 'latin1');
    expect(js.equals(pdf)).toBe(false);
    expect(imageProblem(js, 'application/pdf')).toBe('PDF with scripts, actions or embedded files');
    const escaped = Buffer.from(pdf.toString('latin1').replace('/Type /Catalog', '/Type /Catalog /OpenAction << /S /J#61vaScript >>'), 'latin1');
    expect(imageProblem(escaped, 'application/pdf')).toBe('PDF with scripts, actions or embedded files');
  });
});
