/**
 * Send while the phone is still sending: the GP presses Send (all) as soon as the first phone photo has arrived;
 * the photos the phone had already numbered keep coming and are sent with that Send, each once; the phone says the
 * GP sent them and takes no new photo. Real phone page in Chromium, real LAN server, companion core, gateway and
 * ALEX sandbox on 127.0.0.1; the PC is driven through the core's bridge, as the desktop does.
 */
import { expect, type Route } from '@playwright/test';
import { test } from './phone/fixtures';
import { newPhone, PhonePage } from './phone/phone-page';
import { DesktopPage } from './pages/desktop-page';
import { expectAccessible } from './support/a11y';

const UPLOAD = '**/api/images/v1/upload';

test('the GP sends after the first photo arrives: every photo the phone had taken reaches committed, and the phone ends and refuses a new shutter', async ({ browser, pc, photos }) => {
  const core = pc.stack.companion.core;
  await core['settings.set']({ patch: { requiredFields: [] } }); // the phone photos are ready as they arrive
  const view = await pc.startPhone();
  const ctx = await newPhone(browser, 'Pixel 7');
  const phone = await PhonePage.open(ctx, view.qrUrl);
  await phone.confirm.tap();
  await phone.gallery.setInputFiles(photos.made);
  await expect(phone.photo(3)).toBeVisible(); // numbered (held) by the PC as they were taken

  // The first upload goes through; the other two are held on the wire until the GP has pressed Send.
  const onTheWire: Route[] = [];
  let passed = 0;
  await phone.page.route(UPLOAD, async (route) => {
    if (passed === 0) {
      passed += 1;
      await route.continue();
    } else onTheWire.push(route);
  });
  await phone.send.tap();
  await expect.poll(async () => (await pc.phoneImages()).filter((i) => i.status === 'ready').length).toBe(1);
  await expect.poll(() => onTheWire.length).toBe(2);

  // The GP sends from the desktop, told first that the photos still coming go with this Send.
  const desk = await browser.newPage();
  await desk.goto(pc.stack.host.url);
  const desktop = new DesktopPage(desk);
  await desktop.commitButton.click();
  await expect(desktop.dialog.getByTestId('commit-summary')).toContainText('1 image to');
  await expect(desktop.dialog.getByTestId('commit-coming')).toHaveText('Also 2 photos still coming from the phone: they are sent the same way as each arrives.');
  await desktop.send({ media: true, inboxScan: false }, false);
  const coming = '2 photos still coming from the phone will be sent to Medtech when they arrive.';
  await expect(desktop.dialog.getByTestId('commit-still-coming')).toHaveText(coming);
  expect((await pc.state()).stillComing).toEqual([{ patientId: pc.patientId('ZZZ0016'), photos: 2, onArrival: 'send' }]);
  const stillComing = desk.getByTestId('still-coming');
  await expect(stillComing).toHaveText(coming);

  // One more arrives: the phone learns the GP has sent, keeps its last photo going, and offers no camera.
  await onTheWire.shift()?.continue();
  await expect(phone.page.getByTestId('sent-by-gp')).toContainText('The GP has pressed Send.');
  await expect(phone.page.getByRole('button', { name: 'Take photo' })).toHaveCount(0);
  await expect(phone.camera).toHaveCount(0);
  await expect(phone.photo(3).getByTestId('photo-status')).toContainText('Sending');
  await phone.screenshot('sent-by-gp-still-sending');
  await expectAccessible(phone.page, 'phone-sent-by-gp-still-sending');
  await onTheWire.shift()?.continue();

  await expect(phone.heading).toHaveText('The GP has sent the photos');
  await expect(stillComing).toHaveCount(0);
  await expect(phone.endedMessage).toContainText('To take more photos, scan the new QR code on the PC.');
  await expect(phone.page.getByTestId('ended-sent')).toHaveText('3 photos reached the PC.');
  await expect(phone.gallery).toHaveCount(0);
  await phone.screenshot('sent-by-gp-ended');
  await expectAccessible(phone.page, 'phone-sent-by-gp-ended');

  await expect.poll(async () => (await pc.phoneImages()).map((i) => i.status), { timeout: 30_000 }).toEqual(['committed', 'committed', 'committed']);
  const outbox = (await pc.state()).outbox;
  expect(outbox).toHaveLength(3); // each photo once
  expect(outbox.every((o) => o.targets.media && !o.targets.inboxScan)).toBe(true);
  expect((await pc.state()).stillComing).toBeUndefined();
  expect(await phone.leftovers()).toMatchObject({ localStorage: 0, blobImages: 0, sessionKeys: [] });
  await desk.close();
  await ctx.close();
});
