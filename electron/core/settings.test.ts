import { describe, expect, it } from 'vitest';
import { captionText } from './caption';
import { ConfigCell, DEFAULT_SETTINGS, applySettingsPatch, readConfig } from './settings';
import { MemorySettingsStore } from './test-support';

describe('settings', () => {
  it('defaults to Inbox Scan as PDF with a caption strip and body site required', () => {
    expect(readConfig(null)).toEqual({ settings: DEFAULT_SETTINGS, enrolment: null, renewal: null });
    expect(DEFAULT_SETTINGS.defaultTargets).toEqual({ media: false, inboxScan: true });
  });

  it('keeps each valid stored field and drops each invalid one (a damaged file never stops the companion)', () => {
    const c = readConfig({ settings: { roomLabel: 'Room 3', captionStrip: 'yes', requiredFields: ['nope'], maxAttachmentBytes: 500_000 }, enrolment: { deviceId: 1 } });
    expect(c.settings.roomLabel).toBe('Room 3');
    expect(c.settings.captionStrip).toBe(DEFAULT_SETTINGS.captionStrip);
    expect(c.settings.requiredFields).toEqual(DEFAULT_SETTINGS.requiredFields);
    expect(c.settings.maxAttachmentBytes).toBe(500_000);
    expect(c.enrolment).toBeNull();
  });

  it('refuses an invalid patch with ERR_REQUEST_INVALID and changes nothing', () => {
    const before = { ...DEFAULT_SETTINGS };
    expect(() => applySettingsPatch(before, { gatewayUrl: 'javascript:alert(1)' })).toThrow(expect.objectContaining({ code: 'ERR_REQUEST_INVALID' }));
    expect(() => applySettingsPatch(before, { maxAttachmentBytes: 10 })).toThrow(expect.objectContaining({ code: 'ERR_REQUEST_INVALID' }));
    expect(before).toEqual(DEFAULT_SETTINGS);
    expect(applySettingsPatch(before, { roomLabel: 'Room 9' }).roomLabel).toBe('Room 9');
  });

  it('stores copies, not references', async () => {
    const store = new MemorySettingsStore();
    const cfg = { settings: { ...DEFAULT_SETTINGS }, enrolment: null };
    await store.save(cfg);
    cfg.settings.roomLabel = 'changed';
    expect(readConfig(await store.load()).settings.roomLabel).toBe(DEFAULT_SETTINGS.roomLabel);
  });
});

describe('captionText', () => {
  it('puts the clinical metadata in plain words, in NZ time, without patient identifiers', () => {
    const t = captionText({ bodySiteCode: '14975008', laterality: 'left', imageType: 'wound', view: 'close-up', caption: 'healing well' }, '2026-03-02T20:30:00Z');
    expect(t).toBe('Left Forearm · Wound · Close-up · 3 Mar 2026 · healing well');
    expect(captionText({}, '2026-03-02T20:30:00Z')).toBe('3 Mar 2026');
  });
});

describe('ConfigCell', () => {
  it('reads a damaged stored value leniently, and a replacement is seen at once and saved', async () => {
    const store = new MemorySettingsStore({ settings: { roomLabel: 'Room 4', maxAttachmentBytes: 'lots' }, enrolment: { deviceId: 1 } });
    const cell = await ConfigCell.load(store);
    expect(cell.current.settings.roomLabel).toBe('Room 4');
    expect(cell.current.settings.maxAttachmentBytes).toBe(DEFAULT_SETTINGS.maxAttachmentBytes);
    expect(cell.current.enrolment).toBeNull();
    const saving = cell.replace({ ...cell.current, settings: { ...cell.current.settings, roomLabel: 'Room 5' } });
    expect(cell.current.settings.roomLabel).toBe('Room 5');
    await saving;
    expect(readConfig(await store.load()).settings.roomLabel).toBe('Room 5');
  });
});
