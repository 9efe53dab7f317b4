/**
 * A photo's render started from the pixels its ingest has just decoded, while the master is encoded on the other
 * core (README: Early render): no second decode, and most of the render is done by the time the photo is ready.
 * For a photo without edits, in the format and limit of the last such render asked for (JPEG at the service's limit
 * before any); handed to the first render asking for exactly that, else dropped when the next one starts. At most
 * one runs and one is held.
 */
import type { RawImage } from './fit';
import { checkOutput, hasEdits, type EncodeStep } from './render';
import type { EarlyRenderClaim, Edits, ImagingLimits, OutputFormat, RenderOutput, RenderResult } from './types';

type Wanted = { format: Extract<OutputFormat, 'jpeg' | 'tiff'>; maxBytes: number };
type OnPixels = (img: RawImage, masterPath: string) => void;

export interface EarlyRenderDeps {
  /** Renders pixels without edits, each encode run through `step`. */
  render: (img: RawImage, wanted: Wanted, step: EncodeStep) => Promise<RenderResult>;
  /** Runs a render job where renders run (the service's lanes); `beside`: outside the render queue, beside its jobs. */
  run: <T>(job: () => Promise<T>, beside: boolean) => Promise<T>;
  /** True when a render could start at once without holding pixels in a queue (checked at the start and at the hand-over). */
  room: (beside: boolean) => boolean;
  /** What an early render waits for before each encode until it is taken (new photos' first looks). */
  yieldTo: () => Promise<void>;
  limits: ImagingLimits;
}

interface Held {
  masterPath: string;
  wanted: Wanted;
  result: Promise<RenderResult>;
  /** Called when a render takes it, with what it then still yields until (none: it goes at once). */
  adopt: (taken: Promise<void> | undefined) => void;
}

export class EarlyRenders {
  private held: Held | null = null;
  private running = 0;
  private wanted: Wanted;

  constructor(private readonly deps: EarlyRenderDeps) {
    this.wanted = { format: 'jpeg', maxBytes: deps.limits.alexMaxAttachmentBytes };
  }

  /**
   * Writes a master through `write`, offering it the early render's hand-over when there could be room for one now and
   * `wanted` (asked once, only then) says how: with a free place in the render queue, or beside its jobs. There must
   * still be room at the hand-over.
   */
  async ingest<T>(write: (onPixels?: OnPixels) => Promise<T>, wanted: () => EarlyRenderClaim = () => 'if-room'): Promise<T> {
    let started: string | null = null;
    // Asked once, before the decode: a run's 'beside' claim is spent here even if this ingest then fails or a render
    // ahead takes the lane before its pixels come (that run then has no early render; its renders ahead still run).
    const claim = this.hasRoom(true) ? wanted() : false;
    const beside = claim === 'beside';
    const onPixels: OnPixels = (img, masterPath) => {
      if (!this.hasRoom(beside)) return;
      started = masterPath;
      this.start(masterPath, img, beside);
    };
    try {
      return await write(claim !== false && this.hasRoom(beside) ? onPixels : undefined);
    } catch (err) {
      if (started !== null && this.held?.masterPath === started) this.held = null; // nothing may use it
      throw err;
    }
  }

  /**
   * The early render for exactly this request (taken out), or undefined. Every valid request without edits for a
   * photo format also sets what the next early render makes.
   */
  take(masterPath: string, edits: Edits, output: RenderOutput): Promise<RenderResult> | undefined {
    if (typeof edits !== 'object' || edits === null || hasEdits(edits)) return undefined;
    let format: OutputFormat;
    let maxBytes: number;
    try {
      ({ format, maxBytes } = checkOutput(output, this.deps.limits));
    } catch {
      return undefined; // the render itself says what is wrong
    }
    if (format !== 'jpeg' && format !== 'tiff') return undefined;
    this.wanted = { format, maxBytes };
    const held = this.held;
    if (held === null || held.masterPath !== masterPath || held.wanted.format !== format || held.wanted.maxBytes !== maxBytes) return undefined;
    this.held = null;
    held.adopt(output.ahead?.taken);
    return held.result;
  }

  private hasRoom(beside: boolean): boolean {
    return this.running === 0 && this.deps.room(beside);
  }

  private start(masterPath: string, img: RawImage, beside: boolean): void {
    let adopt: Held['adopt'] = () => undefined;
    const adopted = new Promise<void>((resolve) => (adopt = (taken) => void (taken ?? Promise.resolve()).then(resolve, resolve)));
    // One encode at a time (the master is being encoded on the other core), each after new photos' first looks until taken.
    let last: Promise<unknown> = Promise.resolve();
    const step: EncodeStep = (encode) => {
      const next = last.then(() => Promise.race([this.deps.yieldTo(), adopted])).then(encode);
      last = next.catch(() => undefined);
      return next;
    };
    const wanted = this.wanted;
    this.running++;
    const result = this.deps.run(() => this.deps.render(img, wanted, step), beside);
    const done = (): void => void this.running--;
    result.then(done, done);
    result.catch(() => undefined); // seen (and thrown) by whoever takes it
    this.held = { masterPath, wanted, result, adopt };
  }
}
