/**
 * The full `AppState` the desktop renders, read from the units that own each part. Built on every change for
 * whoever listens to `state`, and for `app.getState`.
 */
import type { AppState, EnrolmentView, ImageView, Notice, OutboxItemView as BridgeOutboxItem, PendingLookupView, PhoneView } from '../../shared/contracts/bridge';
import type { OutboxItemView } from '../outbox/types';
import type { WorkingPatient } from '../session';
import type { OutboxPort } from './ports';

/** The outbox list shows the newest this many items. */
export const MAX_OUTBOX_VIEW = 200;

export interface SnapshotSources {
  revision: () => number;
  enrolment: () => EnrolmentView;
  working: WorkingPatient;
  images: () => ImageView[];
  phone: () => PhoneView | null;
  outbox: OutboxPort;
  /** The bridge's view of one outbox item (outbox-sync.ts outboxView, plus what other units add). */
  outboxView: (item: OutboxItemView) => BridgeOutboxItem;
  notices: () => Notice[];
  pendingLookup: () => PendingLookupView | undefined;
  iso: (ms: number) => string;
}

export function buildSnapshot(s: SnapshotSources): AppState {
  const cur = s.working.current();
  const state: AppState = {
    revision: s.revision(),
    enrolment: s.enrolment(),
    launch: s.working.view(),
    patient: cur?.patient ?? null,
    captureSession: cur === null ? null : { id: cur.id, patientId: cur.patient.id, startedAt: s.iso(cur.startedAt) },
    images: s.images(),
    phone: s.phone(),
    outbox: s.outbox.list().slice(-MAX_OUTBOX_VIEW).map(s.outboxView),
    notices: s.notices(),
  };
  const pending = s.pendingLookup();
  if (pending !== undefined) state.pendingLookup = pending;
  return state;
}
