/**
 * The outcome of a create whose answer never came back (rules: gateway/README.md "Outcome unknown"). A
 * create can be stored long after the caller stopped waiting (ALEX.md, known unknown 3), so an empty lookup
 * proves absence only after `maxProcessingMs`; a DocumentReference has no documented lookup at all.
 */
import type { CommittedResource } from '../../../shared/contracts/gateway';
import { AppError } from '../../../shared/errors';
import type { AlexCallContext, AlexClient } from '../alex/types';
import { IMAGE_IDENTIFIER_SYSTEM } from '../alex/types';

export type Target = 'media' | 'documentReference';

export interface OutcomePolicy {
  /** ALEX_MAX_PROCESSING_SECONDS × 1000: how long after a create an empty lookup still proves nothing. */
  maxProcessingMs: number;
  /** ALEX_UNCONFIRMED_AFTER_SECONDS × 1000: still unknown this long after the create → a person must look. */
  unconfirmedAfterMs: number;
}

/** ALEX_MAX_PROCESSING_SECONDS default: a Hybrid Connection's slowest plausible store, with room. */
export const DEFAULT_MAX_PROCESSING_SECONDS = 300;
export const DEFAULT_UNCONFIRMED_AFTER_SECONDS = 600;
/** The longest a device is told to wait before asking again while an outcome is unknown. */
const MAX_ASK_AGAIN_SECONDS = 60;

export type Resolution =
  /** Found at ALEX: the create was stored (once). */
  | { kind: 'found'; resource: CommittedResource }
  /** Proven not stored: a lookup found nothing after the longest processing time. May be created again. */
  | { kind: 'absent' }
  /** Not proven either way: nothing is sent; the error says when to ask again or that a person must look. */
  | { kind: 'unknown'; error: AppError };

export interface ResolveInput {
  target: Target;
  sentAt: number;
  now: number;
  imageId: string;
  patientNhi: string;
  ctx: AlexCallContext;
}

export class OutcomeResolver {
  constructor(
    private readonly alex: AlexClient,
    private readonly policy: OutcomePolicy,
  ) {}

  async resolve(input: ResolveInput): Promise<Resolution> {
    const looked = await this.look(input);
    if (looked.kind === 'found') return looked;
    const elapsed = input.now - input.sentAt;
    if (looked.kind === 'not-found' && elapsed >= this.policy.maxProcessingMs) return { kind: 'absent' };
    return { kind: 'unknown', error: this.unknownError(elapsed, input.ctx.correlationId) };
  }

  /** The error for an outcome still unknown `elapsed` ms after the create was sent. */
  unknownError(elapsed: number, correlationId: string): AppError {
    if (elapsed >= this.policy.unconfirmedAfterMs) return new AppError('ERR_COMMIT_UNCONFIRMED', { correlationId });
    const nextMilestone = elapsed < this.policy.maxProcessingMs ? this.policy.maxProcessingMs : this.policy.unconfirmedAfterMs;
    const retryAfterSeconds = Math.max(1, Math.min(MAX_ASK_AGAIN_SECONDS, Math.ceil((nextMilestone - elapsed) / 1000)));
    return new AppError('ERR_ALEX_OUTCOME_UNKNOWN', { correlationId, retryAfterSeconds });
  }

  /** A documented lookup, where one exists. Any failure (403 included) means "cannot tell". */
  private async look(input: ResolveInput): Promise<{ kind: 'found'; resource: CommittedResource } | { kind: 'not-found' } | { kind: 'cannot-tell' }> {
    if (input.target !== 'media') return { kind: 'cannot-tell' };
    try {
      const found = await this.alex.findMediaByIdentifier(input.ctx, input.patientNhi, { system: IMAGE_IDENTIFIER_SYSTEM, value: input.imageId });
      if (found === null) return { kind: 'not-found' };
      if (typeof found.id !== 'string') return { kind: 'cannot-tell' };
      return { kind: 'found', resource: { resourceType: 'Media', id: found.id } };
    } catch (err) {
      if (err instanceof Error && err.name === 'AbortError') throw err;
      return { kind: 'cannot-tell' };
    }
  }
}
