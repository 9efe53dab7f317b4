/**
 * The phone page when things go wrong: the PC switches patient mid-upload, answers are lost, Wi-Fi drops,
 * QR codes expire, the PC ends the session. Real phone page in Chromium, real LAN server on 127.0.0.1 — with the
 * whole companion behind it, or (for expiry) the LAN server alone on a hand-driven clock with a sink that takes
 * files the way the core does.
 */
import { expect, type Route } from '@playwright/test';
import { startHarness, type Harness } from '../../electron/lan/testing';
import { ERROR_CODES } from '../../shared/errors/codes';
import { DesktopPage } from './pages/desktop-page';
import { newPhone, PhonePage } from './phone/phone-page';
import { makePhoto } from './phone/photos';
import { startLostAnswerProxy } from './phone/lost-answer-proxy';
import { test } from './phone/fixtures';
import { AROHA, MOBILE_DIST, WIREMU } from './phone/stack';

const UPLOAD = '**/api/images/v1/upload';


test('the PC switches patient mid-upload: the photos taken for Aroha still reach Aroha (in her own group, which says they are coming), none lands on Wiremu, and the phone takes no more', async ({ browser, pc, photos }) => {
  const view = await pc.startPhone();
  const ctx = await newPhone(browser, 'Pixel 7');
  const phone = await PhonePage.open(ctx, view.qrUrl);
  await phone.confirm.tap();
  await phone.gallery.setInputFiles(photos.made);
  // The PC numbered them as they were taken: the same "Photo 1–3" as on the PC.
  await expect(phone.photo(3)).toBeVisible();

  // The first upload goes through; the next two are held in flight until the GP has switched patient.
  const inFlight: Route[] = [];
  let passed = 0;
  await phone.page.route(UPLOAD, async (route) => {
    if (passed === 0) {
      passed += 1;
      await route.continue();
    } else inFlight.push(route);
  });
  await phone.send.tap();
  await expect.poll(() => inFlight.length).toBe(2);
  await expect.poll(async () => (await pc.phoneImages()).length).toBe(1);
  await phone.screenshot('sending');

  await pc.launch(WIREMU.nhi);
  expect((await pc.state()).patient?.id).toBe(pc.patientId(WIREMU.nhi));
  // The desktop says, in Aroha's group, that two more of hers are on their way and will wait there.
  expect((await pc.state()).stillComing).toEqual([{ patientId: pc.patientId(AROHA.nhi), photos: 2, onArrival: 'wait' }]);
  expect((await pc.state()).notices.find((n) => n.kind === 'patient-switched')).toMatchObject({
    level: 'warning',
    message: `Now working on ${WIREMU.name}. 1 image stays with ${AROHA.name} and can still be sent to their record only. 2 photos still coming from the phone will wait with them.`,
  });
  const desk = await browser.newPage();
  await desk.goto(pc.stack.host.url);
  const arohaGroup = new DesktopPage(desk).otherGroup(AROHA.name);
  await expect(arohaGroup).toContainText('2 photos still coming from the phone will wait here until you send them.');
  for (const r of inFlight) await r.continue();

  // Both reach the PC for Aroha; the phone then says the PC moved on, and offers no way to take more.
  await expect(phone.heading).toHaveText('The PC changed to another patient');
  await expect(phone.page.getByTestId('ended-sent')).toHaveText(`3 photos reached the PC for ${AROHA.name}.`);
  await expect(phone.page.getByTestId('unsent')).toHaveCount(0);
  await expect(phone.gallery).toHaveCount(0);
  await phone.screenshot('patient-changed');
  await expect(arohaGroup).not.toContainText('still coming');
  expect((await pc.state()).stillComing).toBeUndefined();
  await desk.close();

  const images = await pc.phoneImages();
  expect(images).toHaveLength(3);
  expect(images.every((i) => i.patientId === pc.patientId(AROHA.nhi) && !i.isWorkingPatient)).toBe(true);
  expect(images.map((i) => i.label).sort()).toEqual(['Photo 1', 'Photo 2', 'Photo 3']);
  expect(await phone.leftovers()).toMatchObject({ localStorage: 0, indexedDb: 0, blobImages: 0, sessionKeys: [] });

  // The nurse scans the new QR (Wiremu) in the same tab: only the fragment changes. She starts afresh, for Wiremu.
  await phone.page.unroute(UPLOAD);
  const next = await pc.startPhone();
  await phone.page.goto(next.qrUrl);
  await expect(phone.patientName).toHaveText(WIREMU.name);
  expect(phone.page.url()).not.toContain('#');
  await phone.confirm.tap();
  await expect(phone.photos).toHaveCount(0); // nothing taken for Aroha came along
  await phone.camera.setInputFiles(photos.made[0] ?? '');
  await expect(phone.photo(1)).toBeVisible(); // Wiremu's first photo
  await phone.send.tap();
  await expect(phone.barStatus).toHaveText('✓ The photo is on the PC');
  const after = await pc.phoneImages();
  expect(after.filter((i) => i.patientId === pc.patientId(WIREMU.nhi)).map((i) => i.label)).toEqual(['Photo 1']);
  expect(after.filter((i) => i.patientId === pc.patientId(AROHA.nhi))).toHaveLength(3);
  await ctx.close();
});

test('photos taken for Aroha but not yet sent when the PC switches: they stay on the phone, marked as Aroha\'s, and Send puts them in Aroha\'s group', async ({ browser, pc, photos }) => {
  const view = await pc.startPhone();
  const ctx = await newPhone(browser, 'iPhone 14');
  const phone = await PhonePage.open(ctx, view.qrUrl);
  await phone.confirm.tap();
  await phone.camera.setInputFiles(photos.made[0] ?? '');
  await phone.camera.setInputFiles(photos.made[1] ?? '');
  await expect(phone.photo(2)).toBeVisible();
  await phone.pickSite(2, '', 'Forearm');

  await pc.launch(WIREMU.nhi);
  await phone.comeBack(); // the nurse looks at the phone again: it asks the PC
  const notice = phone.page.getByTestId('switched');
  await expect(notice).toContainText('The PC has moved on to another patient.');
  await expect(notice).toContainText(`taken for ${AROHA.name}`);
  await expect(phone.page.getByRole('button', { name: 'Take photo' })).toHaveCount(0);
  await expect(phone.photos).toHaveCount(2);
  await phone.screenshot('switched-keeps-photos');

  await phone.send.tap();
  await expect(phone.heading).toHaveText('The PC changed to another patient');
  await expect(phone.page.getByTestId('ended-sent')).toHaveText(`2 photos reached the PC for ${AROHA.name}.`);
  const images = await pc.phoneImages();
  expect(images.map((i) => ({ who: i.patientId, working: i.isWorkingPatient, label: i.label, site: i.metadata.bodySiteCode })).sort((a, b) => a.label.localeCompare(b.label))).toEqual([
    { who: pc.patientId(AROHA.nhi), working: false, label: 'Photo 1', site: undefined },
    { who: pc.patientId(AROHA.nhi), working: false, label: 'Photo 2', site: '14975008' },
  ]);
  await ctx.close();
});

test('a photo the PC never heard of before the switch (its hold was lost) is not sent to anyone, and the phone says so', async ({ browser, pc, photos }) => {
  const view = await pc.startPhone();
  const ctx = await newPhone(browser, 'Pixel 7');
  const phone = await PhonePage.open(ctx, view.qrUrl);
  await phone.confirm.tap();
  await phone.page.route('**/api/images/v1/photos/hold', (route) => route.abort('connectionreset'));
  await phone.camera.setInputFiles(photos.made[0] ?? '');
  await expect(phone.photos).toHaveCount(1);
  await pc.launch(WIREMU.nhi);
  await phone.page.unroute('**/api/images/v1/photos/hold');
  await phone.send.tap();
  await expect(phone.heading).toHaveText('The PC changed to another patient');
  await expect(phone.page.getByTestId('unsent')).toContainText('1 photo not sent');
  expect(await pc.phoneImages()).toHaveLength(0);
  await ctx.close();
});

test('a nurse who says "No, not this patient" leaves a notice on the PC, and nothing is sent', async ({ browser, pc }) => {
  const view = await pc.startPhone();
  const ctx = await newPhone(browser, 'Pixel 7');
  const phone = await PhonePage.open(ctx, view.qrUrl);
  await phone.decline.tap();
  await expect(phone.heading).toHaveText('Nothing was sent');
  await expect.poll(async () => (await pc.state()).notices.map((n) => n.message).join(' ')).toContain('said this is not the right patient');
  expect(await pc.phoneImages()).toHaveLength(0);
  await ctx.close();
});

test('the answer is lost after the PC stored the photo: the phone retries with the same clientUploadId and nothing is stored twice', async ({ browser, pc, photos }) => {
  const view = await pc.startPhone();
  const lanUrl = new URL(view.qrUrl);
  const proxy = await startLostAnswerProxy({ host: lanUrl.hostname, port: Number(lanUrl.port) });
  try {
    const ctx = await newPhone(browser, 'iPhone 14');
    lanUrl.port = String(proxy.port);
    const phone = await PhonePage.open(ctx, lanUrl.toString());
    await phone.confirm.tap();
    await phone.gallery.setInputFiles([photos.heic, ...photos.made.slice(0, 2)]);
    await phone.send.tap();
    await expect(phone.barStatus).toHaveText('✓ All 3 photos are on the PC', { timeout: 60_000 });

    // Each photo reached the PC twice under one clientUploadId: stored the first time, "duplicate" the second.
    expect([...proxy.attempts.values()]).toEqual([
      [{ status: 200, duplicate: false }, { status: 200, duplicate: true }],
      [{ status: 200, duplicate: false }, { status: 200, duplicate: true }],
      [{ status: 200, duplicate: false }, { status: 200, duplicate: true }],
    ]);
    const images = await pc.phoneImages();
    expect(images).toHaveLength(3);
    expect(new Set(images.map((i) => i.id)).size).toBe(3);
    await ctx.close();
  } finally {
    await proxy.close();
  }
});

test('Wi-Fi drops before sending: the phone says so, waits, and sends everything when the connection is back', async ({ browser, pc, photos }) => {
  const view = await pc.startPhone();
  const ctx = await newPhone(browser, 'Pixel 7');
  const phone = await PhonePage.open(ctx, view.qrUrl);
  await phone.confirm.tap();
  await phone.camera.setInputFiles(photos.made[0] ?? '');
  await phone.camera.setInputFiles(photos.made[1] ?? '');
  await ctx.setOffline(true);
  await phone.send.tap();
  await expect(phone.banner).toHaveText(/No connection to the PC/);
  await expect(phone.photos.filter({ hasText: 'Waiting to send…' })).toHaveCount(2);
  await expect(phone.barStatus).toHaveText('Waiting for the connection · 2 photos to send');
  await phone.screenshot('offline');
  expect(await pc.phoneImages()).toHaveLength(0);

  await ctx.setOffline(false);
  await expect(phone.barStatus).toHaveText('✓ All 2 photos are on the PC', { timeout: 60_000 });
  await expect(phone.banner).toBeHidden();
  await expect.poll(async () => (await pc.phoneImages()).length).toBe(2);
  await ctx.close();
});

test.describe('links that no longer work (LAN server on a hand-driven clock)', () => {
  let lan: Harness;
  const patient = { displayName: 'TESTPATIENT, Aroha', birthDate: '1985-03-14' };
  test.beforeEach(async () => {
    lan = await startHarness({ mobileAssetsDir: MOBILE_DIST });
  });
  test.afterEach(async () => {
    await lan.cleanup();
  });

  test('a QR older than 10 minutes: "This QR code has expired" and nothing to upload with', async ({ browser }) => {
    const { qr } = await lan.server.openSession({ sessionRef: 'r1', patient, roomLabel: 'Room 1' });
    lan.clock.advance(601);
    const ctx = await newPhone(browser, 'iPhone 14');
    const phone = await PhonePage.open(ctx, qr.url);
    await expect(phone.heading).toHaveText('This QR code has expired');
    await expect(phone.endedMessage).toHaveText(ERROR_CODES.ERR_LAN_TOKEN_EXPIRED.message);
    await expect(phone.gallery).toHaveCount(0);
    expect(phone.page.url()).not.toContain('#');
    await phone.screenshot('expired');
    expect(lan.sink.files).toHaveLength(0);
    await ctx.close();
  });

  test('a QR the PC already replaced because it expired: still "This QR code has expired", not "cannot be used"', async ({ browser }) => {
    const { qr } = await lan.server.openSession({ sessionRef: 'r1', patient, roomLabel: 'Room 1' });
    lan.clock.advance(601);
    await lan.server.sweep(); // the PC shows a new QR; the nurse scans the old one from a photo of the screen
    const ctx = await newPhone(browser, 'Pixel 7');
    const phone = await PhonePage.open(ctx, qr.url);
    await expect(phone.heading).toHaveText('This QR code has expired');
    await expect(phone.endedMessage).toHaveText(ERROR_CODES.ERR_LAN_TOKEN_EXPIRED.message);
    await phone.screenshot('expired-replaced');
    await ctx.close();
  });

  test('the PC cannot be reached when the QR is scanned: a calm message and Try again, which then works with the same QR', async ({ browser }) => {
    const { qr } = await lan.server.openSession({ sessionRef: 'r1', patient, roomLabel: 'Room 1' });
    const ctx = await newPhone(browser, 'Pixel 7');
    const page = await ctx.newPage();
    await page.route('**/api/images/v1/session/exchange', (route) => route.abort('connectionrefused'));
    await page.goto(qr.url);
    const phone = new PhonePage(page);
    await expect(phone.heading).toHaveText('Cannot reach the PC');
    await expect(page.getByText(/The phone cannot reach the PC/)).toBeVisible();
    await expect(page.getByTestId('unreachable-checks')).toContainText('not the guest Wi-Fi');
    await expect(page.getByTestId('unreachable-checks')).toContainText('No VPN');
    await expect(page.getByTestId('unreachable-checks')).toContainText('same network as the PC');
    expect(page.url()).not.toContain('#'); // the token is kept in memory only
    await phone.screenshot('unreachable');
    await page.unroute('**/api/images/v1/session/exchange');
    await page.getByRole('button', { name: 'Try again' }).tap();
    await expect(phone.patientName).toHaveText(patient.displayName);
    await ctx.close();
  });

  test('a damaged link, and the page opened without any link', async ({ browser }) => {
    const { qr } = await lan.server.openSession({ sessionRef: 'r1', patient, roomLabel: 'Room 1' });
    const ctx = await newPhone(browser, 'Pixel 7');
    const damaged = await PhonePage.open(ctx, qr.url.slice(0, -3));
    await expect(damaged.heading).toHaveText('This link cannot be used');
    expect(damaged.page.url()).not.toContain('#');
    const bare = await PhonePage.open(ctx, qr.url.replace(/#.*$/, ''));
    await expect(bare.endedMessage).toHaveText('Open this page by scanning the QR code on the PC.');
    // The real QR still works: the damaged one did not use it up.
    const good = await PhonePage.open(ctx, qr.url);
    await expect(good.patientName).toHaveText(patient.displayName);
    await ctx.close();
  });

  test('the PC ends the session while the nurse is on the page: she learns it as soon as she looks again, and the staged photo is cleared', async ({ browser }) => {
    const opened = await lan.server.openSession({ sessionRef: 'r1', patient, roomLabel: 'Room 1' });
    const ctx = await newPhone(browser, 'Pixel 7');
    const phone = await PhonePage.open(ctx, opened.qr.url);
    await phone.confirm.tap();
    await phone.camera.setInputFiles(await makePhoto(`${lan.root}/IMG_0100.JPG`, 800, 600, 4));
    await expect(phone.photos).toHaveCount(1);
    await lan.server.endSession(opened.sessionId, 'ended');
    await phone.comeBack();
    await expect(phone.heading).toHaveText('This upload session has ended');
    await expect(phone.endedMessage).toHaveText(ERROR_CODES.ERR_LAN_SESSION_ENDED.message);
    await expect(phone.page.getByTestId('unsent')).toContainText('1 photo not sent');
    await phone.screenshot('session-ended');
    expect(await phone.leftovers()).toMatchObject({ blobImages: 0, sessionKeys: [] });
    expect(lan.sink.files).toHaveLength(0);
    await ctx.close();
  });

  test('the credential goes idle for 30 minutes: the upload is refused with a clear message and nothing is stored', async ({ browser }) => {
    const opened = await lan.server.openSession({ sessionRef: 'r1', patient, roomLabel: 'Room 1' });
    const ctx = await newPhone(browser, 'iPhone 14');
    const phone = await PhonePage.open(ctx, opened.qr.url);
    await phone.confirm.tap();
    await phone.gallery.setInputFiles(await makePhoto(`${lan.root}/IMG_0101.JPG`, 800, 600, 5));
    lan.clock.advance(31 * 60);
    await phone.send.tap();
    await expect(phone.heading).toHaveText('This upload session timed out');
    await expect(phone.endedMessage).toHaveText(ERROR_CODES.ERR_LAN_TOKEN_EXPIRED.message);
    await phone.screenshot('idle');
    await expect(phone.page.getByTestId('unsent')).toContainText('1 photo not sent');
    expect(lan.sink.files).toHaveLength(0);
    await ctx.close();
  });
});
