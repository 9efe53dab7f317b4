import { describe, expect, it } from 'vitest';
import { AppError } from '../../shared/errors';
import { planTargets, targetNotice } from './targets';

const photo = '/data/images/a.master.jpg';
const pdf = '/data/images/b.master.pdf';

describe('targets a master can go to', () => {
  it('a photo goes to the chosen targets, the Inbox Scan copy in the practice format', () => {
    expect(planTargets(photo, { media: true, inboxScan: true }, 'tiff')).toEqual({ media: true, inboxScan: true, inboxScanFormat: 'tiff' });
    expect(planTargets(photo, { media: true, inboxScan: false }, 'pdf')).toEqual({ media: true, inboxScan: false, inboxScanFormat: 'pdf' });
    expect(targetNotice(photo)).toBeNull();
  });

  it('a PDF goes to the Inbox Scan only, as a PDF whatever the practice format, and still goes when Media is also chosen', () => {
    expect(planTargets(pdf, { media: true, inboxScan: true }, 'tiff')).toEqual({ media: false, inboxScan: true, inboxScanFormat: 'pdf' });
    expect(planTargets(pdf, { media: false, inboxScan: true }, 'tiff')).toEqual({ media: false, inboxScan: true, inboxScanFormat: 'pdf' });
    expect(targetNotice(pdf)).toBe("This PDF can go to the Inbox Scan only; Medtech's Media takes photos. It will be sent to the Inbox Scan.");
  });

  it('a PDF with only Media chosen is refused in plain words, not as "not a photo or document we can use"', () => {
    let err: unknown;
    try {
      planTargets(pdf, { media: true, inboxScan: false }, 'pdf');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('ERR_IMAGE_PDF_INBOX_ONLY');
    expect((err as AppError).message).toBe("This PDF can go to the Inbox Scan only; Medtech's Media takes photos. Choose Inbox Scan to send it.");
  });
});
