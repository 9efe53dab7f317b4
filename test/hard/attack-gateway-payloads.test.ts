/**
 * A stolen device credential posts hostile images, and oversize bodies (issue #26, item 5).
 * - Polyglots and metadata-carrying images (JPEG + <script>, JPEG + ZIP, EXIF text, a PNG text chunk, a TIFF
 *   with trailing bytes, a PDF with JavaScript or trailing HTML) sent with a valid credential and grant →
 *   each refused with ERR_COMMIT_IMAGE_MALFORMED (422), 0 creates at the sandbox; a clean image still commits.
 * - 5 MB and 30 MB bodies over a real socket → a 413 JSON answer the client reads (not a connection reset).
 * Real gateway on loopback, real sandbox, SQLite.
 */
import { connect } from 'node:net';
import { PDFDocument } from 'pdf-lib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EnrolResponse, LaunchGrant } from '../../shared/contracts/gateway';
import { listenOnLoopback } from '../gateway/helpers/dpop';
import { creates, startHarness, type Harness } from '../gateway/helpers/harness';

let h: Harness;
let base = '';
let device: EnrolResponse;
let grant: LaunchGrant;
beforeAll(async () => {
  h = await startHarness();
  base = await listenOnLoopback(h.app);
  device = await h.enrol();
  grant = await h.launch(device);
});
afterAll(async () => {
  await h?.close();
});

const photo = () => sharp({ create: { width: 96, height: 64, channels: 3, background: { r: 180, g: 90, b: 70 } } });

async function hostile(): Promise<{ name: string; field: 'media' | 'document'; contentType: 'image/jpeg' | 'image/png' | 'image/tiff' | 'application/pdf'; bytes: Buffer }[]> {
  const jpeg = await photo().jpeg().toBuffer();
  const png = await photo().png().toBuffer();
  const tiff = await photo().tiff({ compression: 'jpeg' }).toBuffer();
  const text = Buffer.from('tEXtComment\0<script>alert(1)</script>', 'latin1');
  const crc = Buffer.alloc(4);
  const doc = await PDFDocument.create();
  doc.addPage([100, 100]);
  const pdf = Buffer.from(await doc.save({ useObjectStreams: false }));
  return [
    { name: 'JPEG + <script>', field: 'media', contentType: 'image/jpeg', bytes: Buffer.concat([jpeg, Buffer.from('<script>fetch("//evil")</script>')]) },
    { name: 'JPEG + ZIP', field: 'media', contentType: 'image/jpeg', bytes: Buffer.concat([jpeg, Buffer.from('PK\x03\x04\x14\x00\x00\x00payload.html', 'latin1')]) },
    { name: 'JPEG with EXIF text', field: 'media', contentType: 'image/jpeg', bytes: await photo().withExif({ IFD0: { ImageDescription: 'Canary Testpatient ZZZ0040', Artist: '<img src=x onerror=alert(1)>' } }).jpeg().toBuffer() },
    { name: 'PNG with a text chunk', field: 'media', contentType: 'image/png', bytes: Buffer.concat([png.subarray(0, 33), Buffer.from([0, 0, 0, text.length - 4]), text, crc, png.subarray(33)]) },
    { name: 'PNG + trailing PHP', field: 'media', contentType: 'image/png', bytes: Buffer.concat([png, Buffer.from('<?php system($_GET[1]); ?>')]) },
    { name: 'TIFF + trailing bytes', field: 'document', contentType: 'image/tiff', bytes: Buffer.concat([tiff, Buffer.alloc(256, 0x41)]) },
    { name: 'PDF with JavaScript', field: 'document', contentType: 'application/pdf', bytes: Buffer.from(pdf.toString('latin1').replace('/Type /Catalog', '/Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert(1)) >>'), 'latin1') },
    { name: 'PDF + trailing HTML', field: 'document', contentType: 'application/pdf', bytes: Buffer.concat([pdf, Buffer.from('<html><script>x</script></html>')]) },
  ];
}

describe('hostile images with a valid credential', () => {
  it('polyglots and metadata-carrying images → ERR_COMMIT_IMAGE_MALFORMED, 0 creates; a clean image still commits', async () => {
    const before = creates(h.sandbox);
    const answers: string[] = [];
    for (const x of await hostile()) {
      const body = { ...h.commitBody(grant, { media: false }), [x.field]: { contentType: x.contentType, data: x.bytes.toString('base64') } };
      const res = await h.commit(device, body);
      answers.push(`${x.name}: ${res.statusCode} ${res.json<{ error?: { code: string } }>().error?.code ?? ''}`);
      expect(res.statusCode, x.name).toBe(422);
      expect(res.json<{ error: { code: string; message: string } }>().error).toMatchObject({ code: 'ERR_COMMIT_IMAGE_MALFORMED', message: expect.stringContaining('damaged or carries extra data') as string });
    }
    expect(creates(h.sandbox)).toEqual(before);
    console.log(`hard hostile-payloads: ${JSON.stringify({ refused: answers.length, creates: 0 })}`);
    const clean = await h.commit(device, h.commitBody(grant, { media: true, document: true }));
    expect(clean.statusCode, clean.body).toBe(201);
  });
});

/** One raw HTTP request with a body of `size` bytes, written whatever the server does; the answer as read. */
function oversize(size: number): Promise<{ status: number; body: string; error: string | null }> {
  const url = new URL(base);
  return new Promise((resolve) => {
    const socket = connect(Number(url.port), url.hostname);
    let raw = '';
    let error: string | null = null;
    socket.on('data', (d: Buffer) => (raw += d.toString('latin1')));
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    socket.on('close', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);
      resolve({ status, body: raw.slice(raw.indexOf('\r\n\r\n') + 4), error });
    });
    socket.write(`POST /v1/commits HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: ${h.auth(device)}\r\nContent-Type: application/json\r\nContent-Length: ${size}\r\nConnection: close\r\n\r\n`);
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    let sent = 0;
    const pump = (): void => {
      while (sent < size) {
        const n = Math.min(chunk.length, size - sent);
        sent += n;
        if (!socket.write(chunk.subarray(0, n))) {
          socket.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
}

describe('oversize bodies', () => {
  for (const mb of [5, 30]) {
    it(`a ${mb} MB body gets a 413 JSON answer the client can read, not a reset`, async () => {
      const r = await oversize(mb * 1024 * 1024);
      expect(r.error).toBeNull();
      expect(r.status).toBe(413);
      expect(JSON.parse(r.body.replace(/^[0-9a-f]+\r\n/, '').split('\r\n')[0] ?? r.body)).toMatchObject({ error: { code: 'ERR_COMMIT_IMAGE_TOO_LARGE' } });
    });
  }
});
