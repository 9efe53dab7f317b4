/** The outbox's view in the bridge contract's shape (shared/contracts/bridge.ts), for the IPC layer. */
import { AppError } from '../../shared/errors';
import type { OutboxItemView as BridgeOutboxItemView } from '../../shared/contracts/bridge';
import type { OutboxItemView } from './types';

export function toBridgeOutboxItem(v: OutboxItemView): BridgeOutboxItemView {
  const out: BridgeOutboxItemView = {
    imageId: v.imageId,
    patientId: v.patientId,
    targets: { media: v.targets.includes('media'), inboxScan: v.targets.includes('documentReference') },
    status: v.state,
    attempts: v.attempts,
    updatedAt: v.updatedAt,
  };
  if (v.patient) out.patient = v.patient;
  if (v.nhi !== undefined) out.nhi = v.nhi;
  if (v.nextAttemptAt !== undefined) out.nextAttemptAt = v.nextAttemptAt;
  if (v.lastError) {
    const body = new AppError(v.lastError.code, { message: v.reason ?? v.lastError.message }).toBody();
    out.error = body;
  }
  if (v.committed) {
    out.committed = {};
    if (v.committed.media) out.committed.media = v.committed.media;
    if (v.committed.documentReference) out.committed.documentReference = v.committed.documentReference;
    if (v.committed.confirmedBy) out.committed.confirmedBy = v.committed.confirmedBy;
  }
  if (v.waitingFor) out.waitingFor = v.waitingFor;
  if (v.actions) out.history = v.actions.slice(-50).map((a) => ({ action: a.action, at: a.at }));
  return out;
}
