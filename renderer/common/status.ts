/**
 * Words for image and outbox states. Status is always shown as text (and an icon shape), never by colour alone.
 */
import type { ImageStatus, OutboxStatus } from '../../shared/contracts/bridge';

export interface StatusText {
  label: string;
  /** One sentence for a tooltip or screen reader. */
  description: string;
  /** Visual tone; the text carries the meaning. */
  tone: 'neutral' | 'info' | 'warning' | 'success' | 'danger';
  /** A symbol shown next to the label, so status is not colour-only. */
  symbol: string;
}

export const IMAGE_STATUS_TEXT: Record<ImageStatus, StatusText> = {
  processing: { label: 'Processing', description: 'Being prepared on this PC.', tone: 'neutral', symbol: '…' },
  'needs-info': { label: 'Needs info', description: 'Some required details are missing.', tone: 'warning', symbol: '!' },
  ready: { label: 'Ready', description: 'Ready to send to Medtech.', tone: 'info', symbol: '•' },
  sending: { label: 'Sending', description: 'Being sent to Medtech.', tone: 'info', symbol: '↑' },
  waiting: { label: 'Waiting', description: 'Will be sent automatically when the connection is back.', tone: 'warning', symbol: '‖' },
  committed: { label: 'Committed', description: 'Saved in the patient record in Medtech. The copy on this PC has been removed.', tone: 'success', symbol: '✓' },
  failed: { label: 'Failed', description: 'Was not sent. See the reason; you can retry.', tone: 'danger', symbol: '✕' },
  unconfirmed: {
    label: 'Not yet confirmed',
    description: "Sent to Medtech, but Medtech has not confirmed it arrived. Look in the patient's Inbox in Medtech, then say whether it is there.",
    tone: 'warning',
    symbol: '?',
  },
};

/** The outbox's own states share the images' words. */
export const OUTBOX_STATUS_TEXT: Record<OutboxStatus, StatusText> = {
  ...IMAGE_STATUS_TEXT,
  queued: { label: 'Queued', description: 'About to be sent.', tone: 'neutral', symbol: '…' },
};

/** Image statuses that can no longer be edited, removed or re-tagged (the outbox owns them). */
export function isLocked(status: ImageStatus): boolean {
  return status === 'sending' || status === 'waiting' || status === 'committed' || status === 'unconfirmed';
}
