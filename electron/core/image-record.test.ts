/** The pure rules of one image: required fields, needs-info vs ready, frozen, patches, the bridge view, the draft. */
import { describe, expect, it } from 'vitest';
import { applyMetadataPatch, draftOf, imageView, isFrozen, missingFields, NO_EDITS, refreshDraftStatus, type ImageRecord } from './image-record';
import { AROHA, grantFor } from './test-support';

function record(over: Partial<ImageRecord> = {}): ImageRecord {
  return {
    id: 'img-1',
    seq: 1,
    sessionId: 'cs-1',
    patient: AROHA,
    grant: grantFor(AROHA),
    source: 'desktop',
    label: 'wound.jpg',
    capturedAt: '2026-05-01T09:00:00.000Z',
    status: 'needs-info',
    metadata: {},
    edits: NO_EDITS,
    inOutbox: false,
    master: { path: '/work/img-1.master.jpg', width: 1600, height: 1200 },
    thumbnailUrl: 'data:image/jpeg;base64,AA==',
    ...over,
  };
}

describe('image record', () => {
  it('is needs-info until every required field has a non-blank value, then ready; a blank caption counts as missing', () => {
    const rec = record();
    expect(missingFields(rec, ['bodySiteCode', 'caption'])).toEqual(['bodySiteCode', 'caption']);
    applyMetadataPatch(rec, { bodySiteCode: '76552005', caption: '   ' }, ['bodySiteCode', 'caption']);
    expect(rec.status).toBe('needs-info');
    applyMetadataPatch(rec, { caption: 'left shin, day 3' }, ['bodySiteCode', 'caption']);
    expect(rec.status).toBe('ready');
    applyMetadataPatch(rec, { caption: null }, ['bodySiteCode', 'caption']);
    expect(rec.metadata).toEqual({ bodySiteCode: '76552005' });
    expect(rec.status).toBe('needs-info');
  });

  it('never turns an image that is processing or in the outbox back into a draft status', () => {
    const processing = record({ status: 'processing', metadata: { bodySiteCode: '76552005' } });
    refreshDraftStatus(processing, ['bodySiteCode']);
    expect(processing.status).toBe('processing');
    const sent = record({ status: 'sending', inOutbox: true });
    refreshDraftStatus(sent, ['bodySiteCode']);
    expect(sent.status).toBe('sending');
  });

  it('is frozen while in the outbox or being rendered for it', () => {
    expect(isFrozen(record())).toBe(false);
    expect(isFrozen(record({ inOutbox: true }))).toBe(true);
    expect(isFrozen(record({ committing: true }))).toBe(true);
  });

  it('shows its own patient, whether that is the working one, and its size as turned by the edits', () => {
    const rec = record({ edits: { rotate: 90, annotations: [] } });
    const v = imageView(rec, 'pat-2', ['bodySiteCode']);
    expect(v).toMatchObject({ patientId: 'pat-1', isWorkingPatient: false, width: 1200, height: 1600, missingFields: ['bodySiteCode'] });
    expect(imageView(record({ inOutbox: true }), 'pat-1', ['bodySiteCode'])).toMatchObject({ isWorkingPatient: true, missingFields: [], width: 1600 });
  });

  it('keeps a sealed-draft copy only while it has a master and is not committed', () => {
    expect(draftOf(record())).toMatchObject({ v: 1, id: 'img-1', patient: AROHA });
    expect(draftOf(record({ master: undefined }))).toBeUndefined();
    expect(draftOf(record({ status: 'committed' }))).toBeUndefined();
  });
});
