/**
 * Acceptance of the GP's desktop window: the real renderer (built by Vite) in Debian's Chromium, talking over
 * the browser host's WebSocket bridge to the real companion core, gateway and ALEX sandbox — one fresh stack
 * per test, with temporary folders and ephemeral loopback ports. Photos are copies of the shared fixtures.
 */
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test as base } from '@playwright/test';
import pino from 'pino';
import { startBrowserHost } from '../../scripts/browser-host/host';
import { startDevStack, type DevStack } from '../../scripts/browser-host/stack';
import { DesktopPage, SCREENSHOT_DIR } from './pages/desktop-page';
import { newPhone, PhonePage } from './phone/phone-page';

/** The team's shared fixtures sit beside the repository (read-only: copied, never written). */
const FIXTURES = join(process.cwd(), '..', 'shared', 'fixtures', 'photos');
const PHOTOS = ['photo-12mp-orient6.jpg', 'photo-iphone-like.heic', 'photo-1600-portrait.png'] as const;
const AROHA = { nhi: 'ZZZ0016', name: 'TESTPATIENT, Aroha' };
const WIREMU = { nhi: 'ZZZ0024', name: 'TESTPATIENT, Wiremu' };

interface Fixtures {
  dir: string;
  photos: string[];
  stackOptions: { autoEnrol: boolean };
  stack: DevStack;
  desktop: DesktopPage;
}

const test = base.extend<Fixtures>({
  stackOptions: [{ autoEnrol: true }, { option: true }],
  dir: async ({}, use) => {
    const dir = await mkdtemp(join(tmpdir(), 'cpi-e2e-desktop-'));
    await use(dir);
    await rm(dir, { recursive: true, force: true });
  },
  photos: async ({ dir }, use) => {
    const photoDir = join(dir, 'photos');
    await mkdir(photoDir);
    const paths: string[] = [];
    for (const p of PHOTOS) {
      await copyFile(join(FIXTURES, p), join(photoDir, p));
      paths.push(join(photoDir, p));
    }
    await use(paths);
  },
  stack: async ({ dir, stackOptions }, use) => {
    const stack = await startDevStack({
      dataDir: join(dir, 'data'),
      staticDir: join(process.cwd(), 'dist', 'renderer'),
      autoEnrol: stackOptions.autoEnrol,
      memorySecrets: true,
      lan: { host: '127.0.0.1', port: 0 },
      mobileAssetsDir: join(process.cwd(), 'dist', 'renderer', 'mobile'),
      logger: pino({ level: 'silent' }),
    });
    await use(stack);
    await stack.close();
  },
  desktop: async ({ page, stack }, use) => {
    await mkdir(SCREENSHOT_DIR, { recursive: true });
    const desktop = new DesktopPage(page);
    await desktop.open(stack.host.url);
    await use(desktop);
  },
});

/** Launch from "Evolution": the signed pair arrives on the loopback launch listener, as the toolbar icon delivers it. */
async function launch(stack: DevStack, nhi: string): Promise<void> {
  const custom = new URL(stack.launchUrlFor(nhi));
  const url = stack.loopback.launchTemplate
    .replace('{context}', encodeURIComponent(custom.searchParams.get('context') ?? ''))
    .replace('{signature}', encodeURIComponent(custom.searchParams.get('signature') ?? ''));
  const res = await fetch(url);
  expect(res.status).toBe(200);
}

function patientId(stack: DevStack, nhi: string): string {
  const p = stack.sandbox.patients.find((x) => x.nhi === nhi);
  if (!p) throw new Error(`no sandbox patient ${nhi}`);
  return p.id;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

test.describe('desktop window', () => {
  test.describe('an unenrolled PC', () => {
    test.use({ stackOptions: { autoEnrol: false } });

    test('sees the enrolment screen, gets a plain error for a wrong code, then enrols', async ({ desktop, stack }) => {
      await expect(desktop.enrolForm).toBeVisible();
      await expect(desktop.page.getByLabel('Gateway address')).toHaveValue(stack.gatewayUrl);
      await desktop.screenshot('01-enrolment');

      await desktop.enrol('WRONG-CODE-0000', 'Consult room 3');
      await expect(desktop.formError).toContainText('That enrolment code is not valid');
      await expect(desktop.enrolForm).toBeVisible();
      expect((await stack.companion.core['app.getState']({})).enrolment.enrolled).toBe(false);

      await desktop.enrol(stack.enrolmentCode, 'Consult room 3');
      await expect(desktop.noPatient).toContainText('Launch from Medtech Evolution');
      await desktop.screenshot('02-no-patient');
    });
  });

  test('launch, drag in three photos (one HEIC), tag, send as Media and Inbox Scan: exactly those land in Medtech', async ({ desktop, stack, photos, dir }) => {
    await expect(desktop.noPatient).toBeVisible();
    await launch(stack, AROHA.nhi);
    await expect(desktop.banner).toContainText(AROHA.name);
    await expect(desktop.banner).toContainText(AROHA.nhi);
    await expect(desktop.banner).toContainText(/\d{1,2} [A-Z][a-z]{2} \d{4} \(\d+ y\)/);
    await desktop.screenshot('03-patient');

    await desktop.dropFiles(photos);
    await desktop.expectAllBadges(desktop.workingGroup, 'Needs info', 3);
    await expect(desktop.card('photo-iphone-like.heic').locator('.image-missing')).toHaveText('Needs: body site');
    await expect(desktop.commitButton).toBeDisabled();
    const ids = await desktop.imageIds(desktop.workingGroup);
    expect(ids).toHaveLength(3);
    const ownFiles = async (): Promise<string[]> => (await filesUnder(join(dir, 'data', 'companion', 'images'))).filter((f) => ids.some((id) => f.includes(id)));
    expect((await ownFiles()).length).toBeGreaterThanOrEqual(3);
    await desktop.screenshot('04-images');

    await desktop.selectAll();
    await desktop.chooseBodySite('forea');
    await desktop.chooseSide('Left');
    await desktop.page.getByLabel('Caption').fill('Day 5 after excision');
    await desktop.screenshot('05-details');
    await desktop.applyToAll();
    await desktop.expectAllBadges(desktop.workingGroup, 'Ready', 3);
    await expect(desktop.cards(desktop.workingGroup).first()).toContainText('Forearm, Left');

    await desktop.commitButton.click();
    await expect(desktop.dialog.getByTestId('commit-summary')).toContainText(`3 images to ${AROHA.name}`);
    await desktop.screenshot('06-commit');
    await desktop.send({ media: true, inboxScan: true });
    await expect(desktop.dialog.getByTestId('commit-tally')).toContainText('3 of 3 in Medtech', { timeout: 60_000 });
    await desktop.screenshot('07-committed');
    await desktop.closeDialog();
    await desktop.expectAllBadges(desktop.workingGroup, 'Committed', 3);

    // The sandbox holds exactly one Media and one DocumentReference per photo, all for this patient.
    const pid = patientId(stack, AROHA.nhi);
    const media = stack.sandbox.store.listMedia();
    const docs = stack.sandbox.store.listDocumentReferences();
    expect(media.map((m) => m.identifier.value).sort()).toEqual([...ids].sort());
    expect(docs.map((d) => d.identifier.value).sort()).toEqual([...ids].sort());
    expect(new Set([...media, ...docs].map((r) => r.patientId))).toEqual(new Set([pid]));
    expect(media.every((m) => m.contentType === 'image/jpeg' && m.bytes.length <= 1_000_000)).toBe(true);

    // Local copies are gone: no working file of these images remains on the PC.
    await expect.poll(ownFiles).toEqual([]);

    const outbox = await desktop.openOutbox();
    await expect(outbox.getByTestId('outbox-history').locator('li')).toHaveCount(3);
    await expect(outbox.getByTestId('outbox-history')).not.toContainText('Aroha');
    await desktop.screenshot('08-outbox');
  });

  test('a patient switch mid-session keeps earlier photos with their own patient, sendable only to them', async ({ desktop, stack, photos }) => {
    await launch(stack, AROHA.nhi);
    await expect(desktop.banner).toContainText(AROHA.name);
    await desktop.pickFiles([photos[2]!]);
    await desktop.expectAllBadges(desktop.workingGroup, 'Needs info', 1);
    const [arohaImage] = await desktop.imageIds(desktop.workingGroup);

    await launch(stack, WIREMU.nhi);
    await expect(desktop.banner).toContainText(WIREMU.name);
    await expect(desktop.notice('patient-switched')).toContainText(`1 image stays with ${AROHA.name}`);
    const aroha = desktop.otherGroup(AROHA.name);
    await expect(desktop.cards(aroha)).toHaveCount(1);
    await expect(desktop.page.getByText(`Drop photos here for ${WIREMU.name}`)).toBeVisible();

    await desktop.pickFiles([photos[0]!]);
    await desktop.expectAllBadges(desktop.workingGroup, 'Needs info', 1);
    await desktop.screenshot('09-patient-switched');

    // Tag Aroha's photo and send it from its own group: it goes to Aroha, never to Wiremu.
    await desktop.selectCard(desktop.cards(aroha).first());
    await desktop.chooseBodySite('scalp');
    await desktop.applyToSelected();
    await expect(desktop.badge(desktop.cards(aroha).first())).toHaveText(/Ready/);
    await aroha.getByRole('button', { name: `Send 1 image to ${AROHA.name}` }).click();
    await expect(desktop.dialog.getByTestId('commit-summary')).toContainText(`1 image to ${AROHA.name}`);
    await desktop.send({ media: true, inboxScan: false });
    await expect(desktop.dialog.getByTestId('commit-tally')).toContainText('1 of 1 in Medtech', { timeout: 60_000 });
    await desktop.closeDialog();

    const media = stack.sandbox.store.listMedia();
    expect(media.map((m) => [m.identifier.value, m.patientId])).toEqual([[arohaImage, patientId(stack, AROHA.nhi)]]);
    expect(stack.sandbox.store.listMedia({ patientId: patientId(stack, WIREMU.nhi) })).toHaveLength(0);
    await desktop.notice('patient-switched').getByRole('button', { name: /Dismiss/ }).click();
    await expect(desktop.notice('patient-switched')).toHaveCount(0);
  });

  test('gateway down: photos wait in the outbox and are sent when it is back', async ({ desktop, stack, photos }) => {
    await launch(stack, AROHA.nhi);
    await desktop.pickFiles([photos[2]!]);
    await desktop.expectAllBadges(desktop.workingGroup, 'Needs info', 1);
    await desktop.selectAll();
    await desktop.chooseBodySite('back');
    await desktop.applyToAll();
    await desktop.expectAllBadges(desktop.workingGroup, 'Ready', 1);

    await stack.stopGateway();
    await desktop.commitButton.click();
    await desktop.send({ media: true, inboxScan: false });
    await desktop.closeDialog();
    const card = desktop.cards(desktop.workingGroup).first();
    await expect(desktop.badge(card)).toHaveText(/Waiting/, { timeout: 30_000 });
    await expect(card.getByTestId('image-error')).toContainText('cannot reach the internet service');
    await expect(card.getByTestId('send-line')).toContainText('The ClinicPro service cannot be reached — will keep trying');
    const outbox = await desktop.openOutbox();
    await expect(outbox.getByTestId('outbox-live')).toContainText('Waiting');
    await expect(outbox.getByTestId('outbox-live')).toContainText(AROHA.name);
    await expect(outbox.getByTestId('outbox-live')).toContainText('photo-1600-portrait.png'); // the same name as on its card
    await expect(outbox.getByTestId('outbox-live')).toContainText(/next try/);
    await desktop.screenshot('10-outbox-waiting');
    await desktop.closeDialog();
    expect(stack.sandbox.store.listMedia()).toHaveLength(0);

    await stack.restartGateway();
    await expect(desktop.badge(card)).toHaveText(/Committed/, { timeout: 60_000 });
    expect(stack.sandbox.store.listMedia()).toHaveLength(1);
  });

  test('Medtech answering 503 is shown in plain words, and the photo is sent once it recovers', async ({ desktop, stack, photos }) => {
    await launch(stack, AROHA.nhi);
    await desktop.pickFiles([photos[0]!]);
    await desktop.expectAllBadges(desktop.workingGroup, 'Needs info', 1);
    await desktop.selectAll();
    await desktop.chooseBodySite('knee');
    await desktop.chooseSide('Right');
    await desktop.applyToAll();
    await desktop.expectAllBadges(desktop.workingGroup, 'Ready', 1);

    const ruleId = stack.sandbox.faults.add({ kind: 'status503' });
    await desktop.commitButton.click();
    await desktop.send({ media: false, inboxScan: true });
    await desktop.closeDialog();
    const card = desktop.cards(desktop.workingGroup).first();
    await expect(desktop.badge(card)).toHaveText(/Waiting/, { timeout: 60_000 });
    await expect(card.getByTestId('image-error')).toContainText("The practice's Medtech connection is offline");
    // Never more than is known: Medtech is not answering, when the next try is, and that nothing reached it.
    await expect(card.getByTestId('send-line')).toHaveText(/^Medtech is not answering — will keep trying \((next try in \d+ (s|min)|trying again now)\)\. Nothing has reached Medtech yet\.$/);
    await desktop.selectCard(card);
    await expect(desktop.page.getByTestId('details-panel')).toContainText('in the send queue on this PC (not yet confirmed in Medtech)');
    await expect(desktop.page.getByTestId('details-panel')).not.toContainText('handed to Medtech');
    await desktop.screenshot('11-alex-503');
    expect(stack.sandbox.store.listDocumentReferences()).toHaveLength(0);

    stack.sandbox.faults.remove(ruleId);
    await expect(desktop.badge(card)).toHaveText(/Committed/, { timeout: 60_000 });
    expect(stack.sandbox.store.listDocumentReferences()).toHaveLength(1);
  });

  test('files that cannot be used are listed with a plain reason; nothing else is added', async ({ desktop, stack, photos, dir }) => {
    await launch(stack, AROHA.nhi);
    await expect(desktop.banner).toContainText(AROHA.name);
    const junk = join(dir, 'photos', 'notes.jpg');
    const empty = join(dir, 'photos', 'empty.png');
    await writeFile(junk, 'this is a text file pretending to be a photo');
    await writeFile(empty, '');
    await desktop.dropFiles([junk, empty, photos[2]!]);
    await expect(desktop.rejectedFiles).toContainText('2 files not added');
    await expect(desktop.rejectedFiles).toContainText('notes.jpg: This file is not a photo or document we can use');
    await expect(desktop.rejectedFiles).toContainText('empty.png: This image is damaged or incomplete');
    await desktop.expectAllBadges(desktop.workingGroup, 'Needs info', 1);
    const state = await stack.companion.core['app.getState']({});
    expect(state.images.map((i) => i.label)).toEqual(['photo-1600-portrait.png']);
    expect(stack.sandbox.store.listMedia()).toHaveLength(0);
    await desktop.screenshot('12-rejected-files');
    await desktop.rejectedFiles.getByRole('button', { name: 'Dismiss' }).click();
    await expect(desktop.rejectedFiles).toHaveCount(0);
  });

  test('keyboard: select all, delete after confirming, shortcuts help, focus stays in dialogs', async ({ desktop, stack, photos }) => {
    await launch(stack, AROHA.nhi);
    await desktop.pickFiles([photos[0]!, photos[2]!]);
    await desktop.expectAllBadges(desktop.workingGroup, 'Needs info', 2);
    const page = desktop.page;

    await page.keyboard.press('?');
    await expect(page.getByRole('dialog', { name: 'Keyboard shortcuts' })).toBeVisible();
    for (let i = 0; i < 5; i++) {
      await page.keyboard.press('Tab');
      await expect(page.locator('[role=dialog] :focus')).toHaveCount(1);
    }
    await desktop.screenshot('13-shortcuts');
    await page.keyboard.press('Escape');
    await expect(page.getByRole('dialog')).toHaveCount(0);

    await desktop.selectAll();
    await expect(page.getByRole('heading', { name: /Details · 2 photos selected/ })).toBeVisible();
    await page.keyboard.press('Delete');
    const confirm = page.getByRole('dialog', { name: 'Remove photos?' });
    await expect(confirm).toContainText('2 photos will be removed from this PC and not sent to Medtech.');
    // The safe choice has the focus: Enter cancels.
    await page.keyboard.press('Enter');
    await expect(confirm).toHaveCount(0);
    await expect(desktop.cards(desktop.workingGroup)).toHaveCount(2);

    await page.keyboard.press('Delete');
    await page.getByRole('button', { name: 'Remove 2 photos' }).click();
    await expect(desktop.cards()).toHaveCount(0);
    expect((await stack.companion.core['app.getState']({})).images).toHaveLength(0);
  });

  test('preview with zoom, and edits (rotate, arrow) saved and shown rendered', async ({ desktop, stack, photos }) => {
    await launch(stack, AROHA.nhi);
    await desktop.pickFiles([photos[2]!]);
    await desktop.expectAllBadges(desktop.workingGroup, 'Needs info', 1);
    const page = desktop.page;
    await desktop.cards(desktop.workingGroup).first().getByRole('button', { name: /^Open / }).click();
    const dialog = page.getByRole('dialog', { name: 'photo-1600-portrait.png' });
    const preview = dialog.getByTestId('preview-image');
    await expect(preview).toHaveAttribute('src', /^data:image\//);
    const before = await preview.getAttribute('src');
    await dialog.getByRole('button', { name: 'Zoom in' }).click();
    await expect(dialog.getByText('150%')).toBeVisible();
    await dialog.getByRole('button', { name: 'Fit' }).click();
    await expect(dialog.getByText('100%')).toBeVisible();

    await dialog.getByRole('button', { name: /^Edit/ }).click();
    await dialog.getByRole('button', { name: /Rotate right/ }).click();
    const stage = dialog.getByTestId('editor-stage');
    const box = (await stage.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.2, box.y + box.height * 0.2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.5, { steps: 4 });
    await page.mouse.up();
    await expect(stage).toHaveAttribute('aria-label', /rotated 90°, 1 marks/);
    await desktop.screenshot('14-editor');
    await dialog.getByRole('button', { name: 'Save changes' }).click();
    await expect(dialog.getByRole('button', { name: /^Edit/ })).toBeVisible();
    await expect.poll(() => preview.getAttribute('src')).not.toBe(before);
    const img = (await stack.companion.core['app.getState']({})).images[0]!;
    expect(img.edits.rotate).toBe(90);
    expect(img.edits.annotations).toHaveLength(1);
    expect(img.edits.annotations[0]!.kind).toBe('arrow');
    // Width and height swap in the rendered preview: the portrait photo is now landscape.
    const natural = await preview.evaluate((el) => [(el as unknown as { naturalWidth: number }).naturalWidth, (el as unknown as { naturalHeight: number }).naturalHeight]);
    expect(natural[0]!).toBeGreaterThan(natural[1]!);
    await desktop.screenshot('15-preview-edited');
  });

  test('phone panel: QR as an image, countdown, new code, end session', async ({ desktop, stack }) => {
    await launch(stack, AROHA.nhi);
    const page = desktop.page;
    await page.getByTestId('start-phone').click();
    const panel = page.getByTestId('phone-panel');
    await expect(panel.getByTestId('phone-qr')).toHaveAttribute('src', /^data:image\/(png;base64|svg\+xml;base64),/);
    await expect(panel).toContainText(/Code valid for (10:00|9:\d\d)/);
    await expect(panel.getByTestId('phones-joined')).toHaveText('0 phones joined');
    await expect(panel).toContainText(`Photos go to ${AROHA.name}`);
    const first = (await stack.companion.core['app.getState']({})).phone!.qrUrl;
    await expect(panel).toContainText(first);
    await desktop.screenshot('16-phone');
    await panel.getByRole('button', { name: 'New code' }).click();
    await expect.poll(async () => (await stack.companion.core['app.getState']({})).phone?.qrUrl).not.toBe(first);
    await panel.getByRole('button', { name: 'End phone session' }).click();
    await expect(panel).toHaveCount(0);
    expect((await stack.companion.core['app.getState']({})).phone).toBeNull();
  });

  test('settings: default targets carry into the send dialog', async ({ desktop, stack, photos }) => {
    await launch(stack, AROHA.nhi);
    const page = desktop.page;
    await page.getByRole('button', { name: 'Settings' }).click();
    const settings = page.getByRole('dialog', { name: 'Settings' });
    await settings.getByLabel('Room name (shown on the phone)').fill('Consult room 4');
    await settings.getByRole('checkbox', { name: 'Photo (Media)' }).check();
    await settings.getByRole('checkbox', { name: 'Inbox Scan' }).uncheck();
    await desktop.screenshot('17-settings');
    await settings.getByRole('button', { name: 'Save' }).click();
    await expect(settings).toHaveCount(0);
    const saved = await stack.companion.core['settings.get']({});
    expect(saved.roomLabel).toBe('Consult room 4');
    expect(saved.defaultTargets).toEqual({ media: true, inboxScan: false });

    await desktop.pickFiles([photos[2]!]);
    await desktop.expectAllBadges(desktop.workingGroup, 'Needs info', 1);
    await desktop.selectAll();
    await desktop.chooseBodySite('abdomen');
    await desktop.applyToAll();
    await desktop.expectAllBadges(desktop.workingGroup, 'Ready', 1);
    await page.keyboard.press('Control+Enter');
    await expect(desktop.dialog.getByRole('checkbox', { name: /Photo \(Media\)/ })).toBeChecked();
    await expect(desktop.dialog.getByRole('checkbox', { name: /Inbox Scan/ })).not.toBeChecked();
    // Neither target: sending is refused in words, nothing goes out.
    await desktop.dialog.getByRole('checkbox', { name: /Photo \(Media\)/ }).uncheck();
    await expect(desktop.dialog.getByRole('alert')).toHaveText('Choose at least one.');
    await expect(desktop.dialog.getByTestId('commit-send')).toBeDisabled();
    await desktop.closeDialog();
    expect(stack.sandbox.store.listMedia()).toHaveLength(0);
  });

  test('a pasted image is added like a dropped one', async ({ desktop, stack, photos }) => {
    await launch(stack, AROHA.nhi);
    await expect(desktop.banner).toContainText(AROHA.name);
    await desktop.pasteImage(photos[2]!, 'image/png');
    await desktop.expectAllBadges(desktop.workingGroup, 'Needs info', 1);
    await expect(desktop.cards(desktop.workingGroup).first().locator('.image-label')).toHaveText(/^Pasted image \d\d-\d\d-\d\d\.png$/);
  });

  test('launch states: "checking" while Medtech answers, then a stale launch is refused in plain words', async ({ desktop, stack }) => {
    const slow = stack.sandbox.faults.add({ kind: 'latency', latencyMs: 1500, method: 'GET', pathPrefix: '/FHIR/Patient' });
    const launched = launch(stack, AROHA.nhi);
    await expect(desktop.verifying).toContainText('Checking the patient with Medtech');
    await expect(desktop.banner).toHaveCount(0);
    await desktop.screenshot('18-launch-verifying');
    await launched;
    stack.sandbox.faults.remove(slow);
    await expect(desktop.banner).toContainText(AROHA.name);

    // A launch pair from ten minutes ago: refused in plain words. Only a verified launch changes the working
    // patient, so the patient on screen stays (a refused launch never hides or replaces it).
    const custom = new URL(stack.launchUrlFor(WIREMU.nhi, { createdTime: new Date(Date.now() - 10 * 60_000) }));
    await stack.companion.core['launch.open']({ url: custom.toString() }).catch(() => undefined);
    await expect(desktop.notice('info')).toContainText('too old. Please launch again from Evolution');
    await expect(desktop.notice('info')).toContainText(`You are still working on ${AROHA.name}`);
    await expect(desktop.banner).toContainText(AROHA.name);
    await desktop.screenshot('19-launch-refused');
  });

  test('the window shows "Reconnecting…" when its connection drops, and carries on when it is back', async ({ desktop, stack }) => {
    await launch(stack, AROHA.nhi);
    await expect(desktop.banner).toContainText(AROHA.name);
    const { port, token } = stack.host;
    await stack.host.close();
    await expect(desktop.connectionBar).toHaveText(/Reconnecting…/);
    await desktop.screenshot('20-reconnecting');
    const again = await startBrowserHost({ core: stack.companion.core, staticDir: join(process.cwd(), 'dist', 'renderer'), port, token, logger: pino({ level: 'silent' }) });
    try {
      await expect(desktop.connectionBar).toHaveCount(0, { timeout: 30_000 });
      // Live again: a change in the core shows up.
      await launch(stack, WIREMU.nhi);
      await expect(desktop.banner).toContainText(WIREMU.name);
    } finally {
      await again.close();
    }
  });

  test("a nurse's phone upload appears on the GP's screen, tagged, for the patient of the QR code", async ({ desktop, stack, photos, browser }) => {
    await launch(stack, AROHA.nhi);
    await desktop.page.getByTestId('start-phone').click();
    const panel = desktop.page.getByTestId('phone-panel');
    // The nurse uses the address the GP's screen shows (the QR holds the same).
    const url = (await panel.locator('.qr-url').textContent())?.trim() ?? '';
    expect(url).toBe((await stack.companion.core['app.getState']({})).phone?.qrUrl);

    const context = await newPhone(browser, 'Pixel 7');
    try {
      const phone = await PhonePage.open(context, url);
      await expect(phone.patientName).toHaveText(AROHA.name);
      await phone.confirm.tap();
      await expect(panel.getByTestId('phones-joined')).toHaveText('1 phone joined');
      await phone.gallery.setInputFiles([photos[0]!]);
      await expect(phone.photos).toHaveCount(1);
      await phone.pickSite(1, '', 'Forearm');
      await phone.side(1, 'Left');
      await phone.send.tap();
      await expect(desktop.cards(desktop.workingGroup)).toHaveCount(1, { timeout: 60_000 });
      const card = desktop.cards(desktop.workingGroup).first();
      await expect(card).toContainText('Phone');
      await expect(card).toContainText('Forearm, Left');
      await expect(desktop.badge(card)).toHaveText(/Ready/, { timeout: 30_000 });
      await desktop.screenshot('21-phone-upload');
    } finally {
      await context.close();
    }
    const img = (await stack.companion.core['app.getState']({})).images[0]!;
    expect([img.source, img.patientId]).toEqual(['phone', patientId(stack, AROHA.nhi)]);
  });
});
