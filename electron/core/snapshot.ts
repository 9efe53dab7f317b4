/** The full `AppState` the desktop renders, read from the units that own each part. */
import type { AppState, EnrolmentView, ImageView, Notice, PendingLookupView, PhoneView } from '../../shared/contracts/bridge';
import type { WorkingPatient } from '../session';
import { outboxView } from './outbox-sync';
import type { OutboxPort } from './ports';

/** The outbox list shows the newest this many items. */
const MAX_OUTBOX_VIEW = 200;

export interface SnapshotSources {
  revision: () => number;
  enrolment: () => EnrolmentView;
  working: WorkingPatient;
  images: () => ImageView[];
  phone: () => PhoneView | null;
  stillComing?: () => NonNullable<AppState['stillComing']>;
  outbox: OutboxPort;
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
    outbox: s.outbox.list().slice(-MAX_OUTBOX_VIEW).map(outboxView),
    notices: s.notices(),
  };
  const stillComing = s.stillComing?.() ?? [];
  if (stillComing.length > 0) state.stillComing = stillComing;
  const pending = s.pendingLookup();
  if (pending !== undefined) state.pendingLookup = pending;
  return state;
}
