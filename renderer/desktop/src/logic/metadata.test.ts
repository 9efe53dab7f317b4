import { describe, expect, it } from 'vitest';
import { AROHA, image } from './testkit/fixtures';
import { searchBodySites } from '../../../../shared/coded/values';
import { MIXED, describeMetadata, draftFrom, isLateralSite, missingText, patchFrom } from './metadata';

const FOREARM = '14975008';
const NOSE = '45206002';

describe('metadata form', () => {
  it('shows a shared value, and "mixed" where the selected images differ', () => {
    const d = draftFrom([
      image(AROHA, { metadata: { bodySiteCode: FOREARM, laterality: 'left', caption: 'Day 1' } }),
      image(AROHA, { metadata: { bodySiteCode: FOREARM, laterality: 'right' } }),
    ]);
    expect(d.bodySiteCode).toBe(FOREARM);
    expect(d.laterality).toBe(MIXED);
    expect(d.caption).toBe(MIXED);
    expect(d.view).toBe('');
  });

  it('sends only the fields that were changed; emptied fields are cleared', () => {
    const draft = { bodySiteCode: FOREARM, laterality: 'left', view: 'close-up', imageType: '', caption: '  Day 5 after excision  ', consent: '' };
    expect(patchFrom(draft, new Set())).toEqual({});
    expect(patchFrom(draft, new Set(['bodySiteCode', 'laterality']))).toEqual({ bodySiteCode: FOREARM, laterality: 'left' });
    expect(patchFrom(draft, new Set(['imageType', 'caption']))).toEqual({ imageType: null, caption: 'Day 5 after excision' });
    expect(patchFrom({ ...draft, caption: '   ' }, new Set(['caption']))).toEqual({ caption: null });
  });

  it('never sends a mixed placeholder', () => {
    const draft = { bodySiteCode: MIXED, laterality: MIXED, view: MIXED, imageType: MIXED, caption: MIXED, consent: MIXED };
    expect(patchFrom(draft, new Set(['bodySiteCode', 'laterality', 'view', 'imageType', 'caption']))).toEqual({});
  });

  it('clears the side when the new site has no sides', () => {
    const draft = { bodySiteCode: NOSE, laterality: 'left', view: '', imageType: '', caption: '', consent: '' };
    expect(patchFrom(draft, new Set(['bodySiteCode']))).toEqual({ bodySiteCode: NOSE, laterality: null });
    expect(patchFrom({ ...draft, bodySiteCode: '' }, new Set(['bodySiteCode']))).toEqual({ bodySiteCode: null, laterality: null });
    expect(isLateralSite(FOREARM)).toBe(true);
    expect(isLateralSite(NOSE)).toBe(false);
    expect(isLateralSite(MIXED)).toBe(false);
  });

  it('offers favourites first, and finds sites by synonym', () => {
    const first = searchBodySites('', 12);
    expect(first.slice(0, 5).every((s) => s.favourite)).toBe(true);
    expect(searchBodySites('shin', 12).map((s) => s.display)).toContain('Lower leg');
    expect(searchBodySites('zzzz', 12)).toEqual([]);
  });

  it("records the patient's consent like the other details: shared, mixed, set, cleared, and named when missing", () => {
    const d = draftFrom([image(AROHA, { metadata: { consent: 'verbal' } }), image(AROHA, { metadata: {} })]);
    expect(d.consent).toBe(MIXED);
    expect(draftFrom([image(AROHA, { metadata: { consent: 'written' } })]).consent).toBe('written');
    const draft = { bodySiteCode: '', laterality: '', view: '', imageType: '', caption: '', consent: 'not-needed' };
    expect(patchFrom(draft, new Set(['consent']))).toEqual({ consent: 'not-needed' });
    expect(patchFrom({ ...draft, consent: '' }, new Set(['consent']))).toEqual({ consent: null });
    expect(patchFrom({ ...draft, consent: MIXED }, new Set(['consent']))).toEqual({});
    expect(describeMetadata({ bodySiteCode: FOREARM, consent: 'not-needed' })).toBe('Forearm · Consent: not needed');
    expect(missingText(['consent'])).toBe('Needs: patient consent');
  });

  it('describes tags and what is missing in words', () => {
    expect(describeMetadata({ bodySiteCode: FOREARM, laterality: 'left', imageType: 'post-operative', view: 'close-up' })).toBe('Forearm, Left · Post-operative · Close-up');
    expect(describeMetadata({})).toBe('');
    expect(missingText(['bodySiteCode', 'laterality'])).toBe('Needs: body site, side');
    expect(missingText([])).toBe('');
  });
});
