/** Small, valid view models for the pure tests (shapes checked against the contract in model.test.ts). */
import type { AppState, ImageView, OutboxItemView } from '../../../../../shared/contracts/bridge';
import type { PatientSummary } from '../../../../../shared/contracts/common';

export const AROHA: PatientSummary = { id: 'pat-aroha', nhi: 'ZZZ0016', familyName: 'Testpatient', givenName: 'Aroha', birthDate: '1985-03-14', sex: 'female' };
export const WIREMU: PatientSummary = { id: 'pat-wiremu', nhi: 'ZZZ0024', familyName: 'Testpatient', givenName: 'Wiremu', birthDate: '1958-11-02', sex: 'male' };

let n = 0;
export function imageId(): string {
  n += 1;
  return `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
}

export function image(patient: PatientSummary, over: Partial<ImageView> = {}): ImageView {
  return {
    id: imageId(),
    patientId: patient.id,
    patient,
    isWorkingPatient: patient === AROHA,
    source: 'desktop',
    label: 'photo.jpg',
    capturedAt: '2026-01-01T09:00:00.000Z',
    status: 'ready',
    metadata: {},
    missingFields: [],
    edits: { rotate: 0, annotations: [] },
    ...over,
  };
}

export function outboxItem(img: ImageView, over: Partial<OutboxItemView> = {}): OutboxItemView {
  return {
    imageId: img.id,
    patientId: img.patientId,
    patient: img.patient,
    targets: { media: false, inboxScan: true },
    status: 'sending',
    attempts: 1,
    updatedAt: '2026-01-01T09:00:00.000Z',
    ...over,
  };
}

export function appState(revision: number, images: ImageView[] = [], outbox: OutboxItemView[] = []): AppState {
  return {
    revision,
    enrolment: { enrolled: true },
    launch: { status: 'ready' },
    patient: AROHA,
    captureSession: null,
    images,
    phone: null,
    outbox,
    notices: [],
  };
}
