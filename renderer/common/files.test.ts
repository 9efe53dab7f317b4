import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LIMITS } from '../../shared/limits';
import { ERROR_CODES } from '../../shared/errors/codes';
import { bytesToBase64, bytesToBase64Chunked, cleanFileName, pastedName, planBatches, BATCH_LIMITS } from './files';

const MB = 1024 * 1024;

describe('planning batches of files for images.addFiles', () => {
  it('sends at most 10 files per call and keeps every file exactly once, in order', () => {
    const files = Array.from({ length: 23 }, (_, i) => ({ name: `p${i}.jpg`, size: 1000 + i }));
    const plan = planBatches(files);
    expect(plan.batches.map((b) => b.length)).toEqual([10, 10, 3]);
    expect(plan.batches.flat().map((f) => f.index)).toEqual(files.map((_, i) => i));
    expect(plan.rejected).toEqual([]);
  });

  it('keeps each call within the byte budget; a big file goes alone', () => {
    const plan = planBatches([
      { name: 'a.jpg', size: 15 * MB },
      { name: 'b.jpg', size: 15 * MB },
      { name: 'c.jpg', size: 15 * MB },
      { name: 'd.jpg', size: 39 * MB },
      { name: 'e.jpg', size: 2 * MB },
    ]);
    expect(plan.batches.map((b) => b.map((f) => f.name))).toEqual([['a.jpg', 'b.jpg'], ['c.jpg'], ['d.jpg'], ['e.jpg']]);
  });

  it('refuses empty and oversize files before sending, with the coded plain message, and sends the rest', () => {
    const plan = planBatches([
      { name: 'empty.jpg', size: 0 },
      { name: 'huge.tif', size: LIMITS.maxUploadFileBytes + 1 },
      { name: 'ok.heic', size: 2 * MB },
    ]);
    expect(plan.batches).toEqual([[{ index: 2, name: 'ok.heic' }]]);
    expect(plan.rejected.map((r) => [r.name, r.error.code])).toEqual([
      ['empty.jpg', 'ERR_IMAGE_CORRUPT'],
      ['huge.tif', 'ERR_IMAGE_FILE_TOO_LARGE'],
    ]);
    expect(plan.rejected[1]!.error.message).toBe(ERROR_CODES.ERR_IMAGE_FILE_TOO_LARGE.message);
  });

  it('never loses or duplicates a file, whatever the sizes (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 45 * MB }), { maxLength: 60 }), (sizes) => {
        const plan = planBatches(sizes.map((size, i) => ({ name: `f${i}`, size })));
        const seen = [...plan.batches.flat().map((f) => f.index), ...plan.rejected.map((r) => r.index)].sort((a, b) => a - b);
        expect(seen).toEqual(sizes.map((_, i) => i));
        for (const b of plan.batches) {
          expect(b.length).toBeGreaterThan(0);
          expect(b.length).toBeLessThanOrEqual(BATCH_LIMITS.maxFilesPerBatch);
          const bytes = b.reduce((n, f) => n + sizes[f.index]!, 0);
          if (b.length > 1) expect(bytes).toBeLessThanOrEqual(BATCH_LIMITS.maxBatchBytes);
        }
      }),
    );
  });
});

describe('file names', () => {
  it('drops path parts and control characters, keeps the extension within 255 characters', () => {
    expect(cleanFileName('C:\\Users\\gp\\Desktop\\wound.jpg')).toBe('wound.jpg');
    expect(cleanFileName('../../etc/passwd')).toBe('passwd');
    expect(cleanFileName('a\u0000b\u001f.png')).toBe('ab.png');
    expect(cleanFileName('   ')).toBe('Pasted image');
    const long = `${'x'.repeat(400)}.heic`;
    const cleaned = cleanFileName(long);
    expect(cleaned).toHaveLength(255);
    expect(cleaned.endsWith('.heic')).toBe(true);
  });

  it('names pasted images by time and type', () => {
    expect(pastedName('image/png', new Date(2026, 0, 1, 9, 5, 7))).toBe('Pasted image 09-05-07.png');
    expect(pastedName('image/jpeg', new Date(2026, 0, 1, 14, 0, 0))).toBe('Pasted image 14-00-00.jpg');
  });
});

describe('base64', () => {
  it('matches the standard padded alphabet for every length (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), (bytes) => {
        expect(bytesToBase64(bytes)).toBe(Buffer.from(bytes).toString('base64'));
      }),
    );
  });

  it('encodes inputs larger than one chunk, at and around the chunk edges, as Node does', () => {
    for (const n of [0, 1, 2, 3, 24_575, 24_576, 24_577, 49_153, 1_000_001]) {
      const bytes = new Uint8Array(n).map((_, i) => (i * 7919 + (i >> 8)) & 255);
      expect(bytesToBase64Chunked(bytes)).toBe(Buffer.from(bytes).toString('base64'));
      expect(bytesToBase64(bytes)).toBe(Buffer.from(bytes).toString('base64'));
    }
  });
});
