/**
 * A FHIR resource as the UTF-8 JSON bytes ALEX receives — exactly `Buffer.from(JSON.stringify(v))` —
 * without running the megabyte-long base64 attachment through JSON escaping and UTF-8 encoding: a large
 * string that is plain base64 (nothing to escape, ASCII) is copied into the output as it is. Saves
 * ~3 ms and one 1.3 MB string per create.
 */
import { Base64Bytes, base64Size } from '../base64';
import type { FhirResource } from '../alex/types';

/** Strings at least this long are checked for the base64 fast path. */
const LARGE_STRING = 16 * 1024;

/** `into(size)` supplies the output buffer (e.g. from a BytesPool); by default a new one. */
export function jsonBytes(value: unknown, into: (size: number) => Buffer = (size) => Buffer.allocUnsafe(size)): Buffer {
  /** Text to encode as UTF-8, and (every other part) base64 text to copy byte for byte. */
  const parts: (string | Base64Bytes)[] = [];
  let text = '';
  const skip = (v: unknown): boolean => v === undefined || typeof v === 'function' || typeof v === 'symbol';
  const write = (v: unknown): void => {
    if (v instanceof Base64Bytes) {
      // Checked base64 held as bytes: what JSON.stringify writes for its text, copied as it is.
      parts.push(`${text}"`, v);
      text = '"';
      return;
    }
    if (typeof v === 'string') {
      if (v.length >= LARGE_STRING && base64Size(v) !== null) {
        parts.push(`${text}"`, v);
        text = '"';
      } else {
        text += JSON.stringify(v);
      }
      return;
    }
    if (v === null || typeof v !== 'object' || typeof (v as { toJSON?: unknown }).toJSON === 'function') {
      text += JSON.stringify(v) ?? 'null';
      return;
    }
    if (Array.isArray(v)) {
      text += '[';
      v.forEach((item, i) => {
        if (i > 0) text += ',';
        if (skip(item)) text += 'null';
        else write(item);
      });
      text += ']';
      return;
    }
    const obj = v as Record<string, unknown>;
    text += '{';
    let first = true;
    for (const k of Object.keys(obj)) {
      const item = obj[k];
      if (skip(item)) continue;
      text += `${first ? '' : ','}${JSON.stringify(k)}:`;
      first = false;
      write(item);
    }
    text += '}';
  };
  if (skip(value)) throw new TypeError('Expected a JSON value');
  write(value);
  parts.push(text);
  // One buffer of the exact size, written in place: no intermediate copies of the image.
  let size = 0;
  parts.forEach((p, i) => (size += i % 2 === 0 ? Buffer.byteLength(p as string, 'utf8') : p.length));
  const out = into(size);
  let at = 0;
  parts.forEach((p, i) => {
    if (p instanceof Base64Bytes) at += p.copyTo(out, at);
    else at += out.write(p, at, i % 2 === 0 ? 'utf8' : 'latin1');
  });
  return out;
}

/** The first identifier of a resource (the image id for what the gateway creates), or null. */
export function firstIdentifier(resource: FhirResource): { system: string; value: string } | null {
  const list = resource.identifier;
  const first: unknown = Array.isArray(list) ? list[0] : null;
  if (first !== null && typeof first === 'object') {
    const { system, value } = first as Record<string, unknown>;
    if (typeof system === 'string' && typeof value === 'string') return { system, value };
  }
  return null;
}

/**
 * Reusable buffers for ALEX request bytes. A megabyte buffer that lives as long as a create (tens of ms
 * to seconds) is promoted to V8's old generation, and a fresh one per commit made V8 run a full
 * mark-compact every few commits (measured: 34 in 120 commits, ~20 ms CPU each; with reuse, 2). A buffer
 * goes back only when nothing can read it any more (see SerializedResource.release).
 *
 * How many free buffers it keeps: at least `keep`; with `max` above that, it follows demand — as many as
 * were lent at once at the busiest moment of the current or the previous window (`windowMs`), up to
 * `max`. Under steady load every commit then reuses a buffer (none is made and dropped, so none waits in
 * the old generation for a full GC: that garbage was ~40 MB of peak RSS at 100 devices), and two quiet
 * windows after the load ends the extras are let go.
 */
export interface BytesPoolOptions {
  /** Most free buffers kept (default `keep`: a fixed pool). */
  max?: number;
  /** How long the busiest moment is remembered (default 30 s). */
  windowMs?: number;
  now?: () => number;
}

export class BytesPool {
  private readonly free: Buffer[] = [];
  private readonly counts = { made: 0, reused: 0 };
  /** Buffers lent and not yet given back (a buffer given twice, or not from here, counts once or not at all). */
  private readonly lent = new WeakSet<Buffer>();
  private inUse = 0;
  private peak = 0;
  private lastPeak = 0;
  private windowStart: number;
  private readonly max: number;
  private readonly windowMs: number;
  private readonly now: () => number;
  /** Rolls the window while the pool holds more than `keep` free buffers, so an idle gateway lets them go. */
  private timer: NodeJS.Timeout | null = null;

  constructor(
    /** Free buffers always kept for reuse; more are left to the garbage collector unless demand calls for them. */
    private readonly keep: number,
    /** Smallest buffer made, so one size serves every image up to the attachment limit. */
    private readonly minBytes: number,
    options: BytesPoolOptions = {},
  ) {
    this.max = Math.max(keep, options.max ?? keep);
    this.windowMs = options.windowMs ?? 30_000;
    this.now = options.now ?? Date.now;
    this.windowStart = this.now();
  }

  /** A buffer of exactly `size` bytes (a view of a pooled one). */
  take(size: number): { view: Buffer; slab: Buffer } {
    this.roll();
    const i = this.free.findIndex((b) => b.length >= size);
    let slab: Buffer;
    if (i >= 0) {
      slab = this.free.splice(i, 1)[0] as Buffer;
      this.counts.reused++;
    } else {
      this.counts.made++;
      slab = Buffer.allocUnsafe(Math.max(size, this.minBytes));
    }
    this.lent.add(slab);
    this.inUse++;
    this.peak = Math.max(this.peak, this.inUse);
    return { view: slab.subarray(0, size), slab };
  }

  give(slab: Buffer): void {
    if (!this.lent.has(slab)) return;
    this.lent.delete(slab);
    this.inUse--;
    this.roll();
    if (this.free.length < this.limit()) this.free.push(slab);
    this.watch();
  }

  stats(): { made: number; reused: number; free: number; inUse: number } {
    return { ...this.counts, free: this.free.length, inUse: this.inUse };
  }

  /** Free buffers to keep now: enough for the busiest recent moment, within [keep, max]. */
  private limit(): number {
    return Math.min(this.max, Math.max(this.keep, Math.max(this.peak, this.lastPeak) - this.inUse));
  }

  /** A new window once the current one has run out: the busiest moment so far becomes the previous one's. */
  private roll(): void {
    const now = this.now();
    if (now - this.windowStart < this.windowMs) return;
    // A window with nothing lent at all leaves no memory of the one before it.
    this.lastPeak = now - this.windowStart >= 2 * this.windowMs ? this.inUse : this.peak;
    this.peak = this.inUse;
    this.windowStart = now;
    this.free.length = Math.min(this.free.length, this.limit());
    this.watch();
  }

  private watch(): void {
    if (this.free.length > this.keep && this.timer === null) {
      this.timer = setInterval(() => this.roll(), this.windowMs);
      this.timer.unref();
    } else if (this.free.length <= this.keep && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }
}

/**
 * The pool the commit path uses: 1.4 MB fits a 1 MB image as base64 plus its FHIR JSON. It grows with the
 * commits in flight (up to 256 free buffers, ~360 MB: far beyond what one gateway process serves at once).
 */
export const alexRequestBytes = new BytesPool(16, 1_400_000, { max: 256 });

/**
 * A resource to create, already as the bytes ALEX receives. The commit path builds the resource, freezes
 * it here and lets go of the object, so a commit waiting on ALEX (for a write slot, a slow answer or a
 * retry) holds its image once — as these bytes — instead of as a string and the bytes.
 */
export class SerializedResource {
  private bytes: Buffer | null;

  private constructor(
    readonly resourceType: string,
    readonly identifier: { system: string; value: string } | null,
    bytes: Buffer,
    private readonly slab: { pool: BytesPool; slab: Buffer } | null,
  ) {
    this.bytes = bytes;
  }

  /** Frozen into a buffer of its own, or (with `pool`) into a pooled one that must be released. */
  static of(resource: FhirResource, pool?: BytesPool): SerializedResource {
    if (!pool) return new SerializedResource(resource.resourceType, firstIdentifier(resource), jsonBytes(resource), null);
    let taken: { view: Buffer; slab: Buffer } | null = null;
    const json = jsonBytes(resource, (size) => (taken = pool.take(size)).view);
    const slab = taken as { view: Buffer; slab: Buffer } | null;
    return new SerializedResource(resource.resourceType, firstIdentifier(resource), json, slab ? { pool, slab: slab.slab } : null);
  }

  /** The bytes to send. */
  get json(): Buffer {
    if (this.bytes === null) throw new Error('SerializedResource used after release');
    return this.bytes;
  }

  /**
   * Gives a pooled buffer back. Only once nothing can read it: the ALEX client returns from a create only
   * after every attempt's HTTP request has finished writing or has been destroyed.
   */
  release(): void {
    if (this.bytes === null) return;
    this.bytes = null;
    if (this.slab) this.slab.pool.give(this.slab.slab);
  }

  /** The resource again, as a new object (for validation). */
  parse(): FhirResource {
    return JSON.parse(this.json.toString('utf8')) as FhirResource;
  }
}
