/**
 * Bytes held as the pieces they arrived in (a request body's chunks), read in place: offsets, byte
 * look-ups, native searches and views across piece boundaries, without joining them. Used by the JSON
 * body parser (./json-body) and by Base64Bytes (./base64) for the image it lifts out.
 */

/**
 * Joining a megabyte body into one buffer costs a copy and a fresh megabyte of ArrayBuffer per request
 * (and V8 runs a young-generation GC for every ~32 MB of those), so the pieces are kept as they came.
 */
export class Chunks {
  readonly length: number;
  /** Offset of each chunk's first byte. */
  private readonly starts: number[] = [];

  constructor(readonly chunks: readonly Buffer[]) {
    let n = 0;
    for (const c of chunks) {
      this.starts.push(n);
      n += c.length;
    }
    this.length = n;
  }

  /** The chunk holding offset `i` (0 ≤ i < length). */
  private chunkOf(i: number): number {
    let lo = 0;
    let hi = this.chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.starts[mid] ?? 0) <= i) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  at(i: number): number | undefined {
    if (i < 0 || i >= this.length) return undefined;
    const c = this.chunkOf(i);
    return this.chunks[c]?.[i - (this.starts[c] ?? 0)];
  }

  /** The offset of the next `byte` at or after `from`, or -1: one native search per chunk. */
  indexOf(byte: number, from: number): number {
    if (from >= this.length) return -1;
    for (let c = this.chunkOf(Math.max(0, from)); c < this.chunks.length; c++) {
      const start = this.starts[c] ?? 0;
      const found = this.chunks[c]?.indexOf(byte, Math.max(0, from - start)) ?? -1;
      if (found >= 0) return start + found;
    }
    return -1;
  }

  /** Views of [start, end), chunk by chunk (no copy). */
  views(start: number, end: number): Buffer[] {
    const out: Buffer[] = [];
    if (start >= end) return out;
    for (let c = this.chunkOf(start); c < this.chunks.length && (this.starts[c] ?? 0) < end; c++) {
      const base = this.starts[c] ?? 0;
      const chunk = this.chunks[c] as Buffer;
      out.push(chunk.subarray(Math.max(0, start - base), Math.min(chunk.length, end - base)));
    }
    return out;
  }

  /** [start, end) as one buffer: a view when it lies in one chunk, else a copy (small parts only). */
  join(start: number, end: number): Buffer {
    const views = this.views(start, end);
    return views.length === 1 ? (views[0] as Buffer) : Buffer.concat(views, Math.max(0, end - start));
  }
}
