/**
 * The one line under a photo's badge saying where it stands on its way to Medtech, never more than is known.
 * The unknown-outcome states (a create may have reached Medtech) are worded by their own card, not here.
 */
import type { ImageView, OutboxItemView, PhoneView } from '../../../../shared/contracts/bridge';
import { plural } from '../../../common/format';
import type { ErrorCode } from '../../../../shared/errors/codes';

/** Medtech (ALEX) itself is not answering or is refusing for now: the gateway is fine. */
const MEDTECH_DOWN: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['ERR_ALEX_UNAVAILABLE', 'ERR_ALEX_TIMEOUT', 'ERR_ALEX_THROTTLED']);
/** Worded by the unknown-outcome card. */
const UNKNOWN_OUTCOME: ReadonlySet<string> = new Set<string>(['ERR_ALEX_OUTCOME_UNKNOWN', 'ERR_COMMIT_UNCONFIRMED']);

/** "in 20 s", "in 2 min", or "now". */
export function nextTryIn(nextAttemptAt: string | undefined, nowMs: number): string | undefined {
  if (nextAttemptAt === undefined) return undefined;
  const s = Math.ceil((Date.parse(nextAttemptAt) - nowMs) / 1000);
  if (!Number.isFinite(s)) return undefined;
  if (s <= 0) return 'now';
  if (s < 90) return `in ${s} s`;
  return `in ${Math.round(s / 60)} min`;
}

export function sendLine(image: ImageView, item: OutboxItemView | undefined, nowMs: number): string | undefined {
  const code = image.error?.code ?? item?.error?.code;
  if (code !== undefined && UNKNOWN_OUTCOME.has(code)) return undefined;
  switch (image.status) {
    case 'sending':
      return item?.status === 'queued' ? 'Queued — about to be sent' : 'Sending to Medtech…';
    case 'waiting': {
      const when = nextTryIn(item?.nextAttemptAt, nowMs);
      const next = when === undefined ? '' : when === 'now' ? ' (trying again now)' : ` (next try ${when})`;
      if (code !== undefined && MEDTECH_DOWN.has(code)) return `Medtech is not answering — will keep trying${next}. Nothing has reached Medtech yet.`;
      if (code === 'ERR_GATEWAY_UNREACHABLE') return `The ClinicPro service cannot be reached — will keep trying${next}. Nothing has reached Medtech yet.`;
      return `Waiting to be sent — will keep trying${next}.`;
    }
    case 'committed':
      return committedLine(image);
    case 'processing':
    case 'needs-info':
    case 'ready':
    case 'failed':
    case 'unconfirmed': // worded by its own card
      return undefined;
  }
}

/** Accepted by Medtech, and how far reading it back from the record has come (never "failed": it was accepted). */
function committedLine(image: ImageView): string {
  if (image.committed?.verified === true) return 'in Medtech ✓';
  switch (image.committed?.readBack) {
    case 'checking':
      return 'Sent — Medtech accepted it; checking it is in the record…';
    case 'not-seen':
      return "Sent — Medtech accepted it, but it has not shown in the patient's record yet (checked for several minutes). Look in Medtech before sending it again.";
    case 'not-checked':
      return 'Sent — Medtech accepted it. ClinicPro could not check the record (the ClinicPro service did not answer); look in Medtech if in doubt.';
    case undefined:
      return 'Sent — Medtech accepted it';
  }
}

/** Why the details of these photos cannot change, in words that claim no more than is known. */
export function lockedReason(images: readonly ImageView[]): string {
  const one = images.length === 1;
  if (images.every((i) => i.status === 'committed')) return `${one ? 'This photo is' : 'These photos are'} in Medtech, so the details can no longer be changed.`;
  if (images.some((i) => i.status === 'unconfirmed')) return `${one ? 'This photo was' : 'These photos were'} sent, but Medtech has not confirmed ${one ? 'it' : 'them'} yet (see the card), so the details can no longer be changed.`;
  return `${one ? 'This photo is' : 'These photos are'} in the send queue on this PC (not yet confirmed in Medtech), so the details can no longer be changed.`;
}

/** Photos a phone had numbered before its session ended (a Send or a patient switch): what happens to them as they arrive. */
export function stillComingLine(stillComing: { patientId: string; photos: number; onArrival: 'send' | 'wait' }[] | undefined, patientId: string): string | undefined {
  const mine = stillComing?.filter((s) => s.patientId === patientId) ?? [];
  const count = (onArrival: 'send' | 'wait'): number => mine.filter((s) => s.onArrival === onArrival).reduce((sum, s) => sum + s.photos, 0);
  const [sent, waiting] = [count('send'), count('wait')];
  const lines: string[] = [];
  if (sent > 0) lines.push(`${plural(sent, 'photo')} still coming from the phone will be sent to Medtech when ${sent === 1 ? 'it arrives' : 'they arrive'}.`);
  if (waiting > 0) lines.push(`${plural(waiting, 'photo')} still coming from the phone will wait here until you send ${waiting === 1 ? 'it' : 'them'}.`);
  return lines.length === 0 ? undefined : lines.join(' ');
}

/** Before a "send all" while the phone is still sending: the photos it has taken and not yet sent go with it. */
export function comingWithSendLine(phone: Pick<PhoneView, 'patientId' | 'photosComing'> | null | undefined, patientId: string): string | undefined {
  const n = phone?.patientId === patientId ? (phone.photosComing ?? 0) : 0;
  if (n === 0) return undefined;
  return `Also ${plural(n, 'photo')} still coming from the phone: ${n === 1 ? 'it is' : 'they are'} sent the same way as ${n === 1 ? 'it arrives' : 'each arrives'}.`;
}
