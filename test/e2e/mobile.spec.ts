/**
 * The nurse's phone: the real phone page (built by Vite) in Debian's Chromium with phone emulation, served by the
 * companion's real LAN server, uploading real photos into the real companion core (with the gateway and ALEX
 * sandbox behind it) — everything on 127.0.0.1, a fresh stack per test.
 */
import { readFile } from 'node:fs/promises';
import { expect } from '@playwright/test';
import { ERROR_CODES } from '../../shared/errors/codes';
import { newPhone, PhonePage, type BrowserGlobals, type PhoneModel } from './phone/phone-page';
import { notAPhoto } from './phone/photos';
import { test } from './phone/fixtures';
import { AROHA, decodeQr } from './phone/stack';

const FOREARM = '14975008';
const ABDOMEN = '113345001';


for (const model of ['Pixel 7', 'iPhone 14'] as const satisfies readonly PhoneModel[]) {
  test(`${model}: scan the QR shown on the PC, confirm the patient, send five photos (HEIC, 12 MP) with body sites`, async ({ browser, pc, photos }) => {
    const view = await pc.startPhone();
    expect(view.qrPngDataUrl).toBeDefined();
    const scanned = await decodeQr(view.qrPngDataUrl ?? '');
    expect(scanned).toBe(view.qrUrl);
    expect(scanned).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/m\/#t=[A-Za-z0-9_-]{43}$/);

    const context = await newPhone(browser, model);
    const requests: string[] = [];
    context.on('request', (r) => requests.push(r.url()));
    // Any script error or Content-Security-Policy violation shows up here.
    const problems: string[] = [];
    context.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text());
    });
    context.on('weberror', (e) => problems.push(e.error().message));
    const phone = await PhonePage.open(context, scanned);
    const slug = model.replace(' ', '').toLowerCase();

    // Whom the photos are for, before anything else; the token is gone from the address bar at once.
    await expect(phone.patientName).toHaveText(AROHA.name);
    await expect(phone.dob).toHaveText(AROHA.born);
    await expect(phone.page.getByTestId('room')).toHaveText('Consult room 3');
    expect(phone.page.url()).not.toContain('#');
    expect(await phone.page.evaluate(() => (globalThis as unknown as BrowserGlobals).location.hash)).toBe('');
    await phone.screenshot(`${slug}-confirm`);
    await expect(phone.gallery).toHaveCount(0); // no way to add a photo before confirming
    await phone.confirm.tap();

    // One photo from the camera, four from the gallery.
    await expect(phone.camera).toHaveAttribute('capture', 'environment');
    await expect(phone.gallery).toHaveAttribute('multiple', '');
    await phone.camera.setInputFiles(photos.made[0] ?? '');
    await phone.gallery.setInputFiles([photos.heic, photos.jpeg12mp, photos.made[1] ?? '', photos.made[2] ?? '']);
    await expect(phone.photos).toHaveCount(5);
    // Chrome cannot show HEIC: a calm tile with the file name instead of a broken image.
    await expect(phone.photo(2).locator('.thumb-name')).toHaveText('IMG_0001.HEIC');
    await expect(phone.photo(1).locator('img')).toHaveJSProperty('complete', true);

    await phone.pickSite(1, '', 'Forearm'); // a favourite, no search needed
    await phone.side(1, 'Left');
    await phone.pickSite(2, 'belly', 'Abdomen'); // found by synonym
    await expect(phone.photo(1).getByTestId('site')).toHaveText('Body site: Forearm, left');
    await expect(phone.photo(2).getByTestId('site')).toHaveText('Body site: Abdomen');
    await expect(phone.photo(2).getByRole('button', { name: 'Left', exact: true })).toHaveCount(0); // not a lateral site
    await phone.photo(1).getByTestId('site').tap();
    await phone.screenshot(`${slug}-body-site`);
    await phone.page.getByRole('dialog').getByRole('button', { name: 'Close' }).tap();
    await phone.screenshot(`${slug}-photos`);

    await expect(phone.send).toHaveText('Send 5 photos to the PC');
    await phone.send.tap();
    await expect(phone.barStatus).toHaveText('✓ All 5 photos are on the PC', { timeout: 60_000 });
    await expect(phone.photos.filter({ hasText: '✓ On the PC' })).toHaveCount(5);
    await phone.screenshot(`${slug}-sent`);

    // The PC holds all five, for Aroha, with the metadata the nurse chose.
    await expect.poll(async () => (await pc.phoneImages()).length).toBe(5);
    const images = await pc.phoneImages();
    expect(images.every((i) => i.patientId === pc.patientId(AROHA.nhi))).toBe(true);
    expect(images.filter((i) => i.metadata.bodySiteCode === FOREARM && i.metadata.laterality === 'left')).toHaveLength(1);
    expect(images.filter((i) => i.metadata.bodySiteCode === ABDOMEN && i.metadata.laterality === undefined)).toHaveLength(1);
    expect(images.filter((i) => i.metadata.bodySiteCode === undefined)).toHaveLength(3);
    await expect.poll(async () => (await pc.phoneImages()).filter((i) => i.status !== 'processing').length).toBe(5);
    expect((await pc.state()).images.filter((i) => i.status === 'failed')).toHaveLength(0);

    // Nothing left behind in the browser: no images in storage, no object URLs, only the credential in this tab.
    expect(await phone.leftovers()).toEqual({ localStorage: 0, indexedDb: 0, caches: 0, serviceWorkers: 0, blobImages: 0, sessionKeys: ['clinicpro-images.phone'] });
    // No request went anywhere but the PC.
    const origin = new URL(scanned).origin;
    expect(requests.filter((u) => !u.startsWith(origin) && !u.startsWith(`blob:${origin}/`) && !u.startsWith('data:'))).toEqual([]);
    // Playwright's trace recorder fetches blob: images into its snapshots (the page itself never does): not ours.
    expect(problems.filter((p) => !/^Connecting to 'blob:[^']*' violates the following Content Security Policy directive: "connect-src 'self'"/.test(p))).toEqual([]);
    await context.close();
  });
}

test('two phones join one session: the QR rotates after each join, and the first QR cannot be used again', async ({ browser, pc, photos }) => {
  const first = await pc.startPhone();
  const ctxA = await newPhone(browser, 'Pixel 7');
  const a = await PhonePage.open(ctxA, first.qrUrl);
  await expect(a.patientName).toHaveText(AROHA.name);

  // The PC shows a new QR once a phone has joined.
  await expect.poll(async () => (await pc.state()).phone?.qrUrl).not.toBe(first.qrUrl);
  const second = (await pc.state()).phone;
  expect(second?.phonesJoined).toBe(1);
  const ctxB = await newPhone(browser, 'iPhone 14');
  const b = await PhonePage.open(ctxB, await decodeQr(second?.qrPngDataUrl ?? ''));
  await expect(b.patientName).toHaveText(AROHA.name);
  await expect.poll(async () => (await pc.state()).phone?.phonesJoined).toBe(2);

  // A third phone scanning the first (used) QR gets a clear message and no way to upload.
  const ctxC = await newPhone(browser, 'Pixel 7');
  const c = await PhonePage.open(ctxC, first.qrUrl);
  await expect(c.heading).toHaveText('This link cannot be used');
  await expect(c.endedMessage).toHaveText(ERROR_CODES.ERR_LAN_TOKEN_INVALID.message);
  await expect(c.gallery).toHaveCount(0);
  await c.screenshot('used-qr');

  for (const [phone, file] of [
    [a, photos.made[0]],
    [b, photos.made[1]],
  ] as const) {
    await phone.confirm.tap();
    await phone.gallery.setInputFiles(file ?? '');
    await phone.send.tap();
  }
  await expect(a.barStatus).toHaveText('✓ The photo is on the PC');
  await expect(b.barStatus).toHaveText('✓ The photo is on the PC');
  await expect.poll(async () => (await pc.phoneImages()).length).toBe(2);
  expect((await pc.phoneImages()).every((i) => i.patientId === pc.patientId(AROHA.nhi))).toBe(true);
  await Promise.all([ctxA.close(), ctxB.close(), ctxC.close()]);
});

test('bad files: text named .jpg and a file over 40 MB get their own clear message; the good photo still arrives; nothing stored', async ({ browser, pc, photos }) => {
  const view = await pc.startPhone();
  const ctx = await newPhone(browser, 'Pixel 7');
  const phone = await PhonePage.open(ctx, view.qrUrl);
  await phone.confirm.tap();
  const uploads: string[] = [];
  phone.page.on('request', (r) => {
    if (r.url().endsWith('/api/images/v1/upload')) uploads.push(r.url());
  });
  await phone.gallery.setInputFiles([
    { name: 'notes.jpg', mimeType: 'image/jpeg', buffer: await readFile(await notAPhoto(pc.dir)) },
    { name: 'IMG_HUGE.JPG', mimeType: 'image/jpeg', buffer: Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(40 * 1024 * 1024 + 1)]) },
    { name: 'IMG_0003.JPG', mimeType: 'image/jpeg', buffer: await readFile(photos.made[0] ?? '') },
  ]);
  await expect(phone.photos).toHaveCount(3);
  // Too large: refused on the phone, before any byte is sent.
  await expect(phone.photo(2).getByTestId('photo-status')).toHaveText(`Not sent: ${ERROR_CODES.ERR_IMAGE_FILE_TOO_LARGE.message}`);
  await phone.send.tap();
  await expect(phone.photo(1).getByTestId('photo-status')).toHaveText(`Not sent: ${ERROR_CODES.ERR_IMAGE_UNSUPPORTED.message}`);
  await expect(phone.photo(3).getByTestId('photo-status')).toHaveText('✓ On the PC');
  await phone.screenshot('bad-files');
  expect(uploads).toHaveLength(2); // the 40 MB file never left the phone; the refused one was not retried

  // The nurse clears the refused photos.
  await phone.photo(1).getByRole('button', { name: 'Remove photo 1' }).tap();
  await phone.photo(2).getByRole('button', { name: 'Remove photo 2' }).tap();
  await expect(phone.photos).toHaveCount(1);

  const images = await pc.phoneImages();
  expect(images).toHaveLength(1);
  await ctx.close();
});

test('remove a photo before sending; a reload in the same tab keeps the session (asks again whom for)', async ({ browser, pc, photos }) => {
  const view = await pc.startPhone();
  const ctx = await newPhone(browser, 'iPhone 14');
  const phone = await PhonePage.open(ctx, view.qrUrl);
  await phone.confirm.tap();
  await phone.gallery.setInputFiles([photos.made[0] ?? '', photos.made[1] ?? '']);
  await phone.photo(1).getByRole('button', { name: 'Remove photo 1' }).tap();
  await expect(phone.photos).toHaveCount(1);
  await expect(phone.send).toHaveText('Send 1 photo to the PC');
  await phone.send.tap();
  await expect(phone.barStatus).toHaveText('✓ The photo is on the PC');

  await phone.page.reload();
  await expect(phone.patientName).toHaveText(AROHA.name);
  await expect(phone.page.getByTestId('already-sent')).toHaveText('1 photo from this session is already on the PC.');
  await expect(phone.confirm).toBeVisible();
  await phone.screenshot('after-reload');
  await phone.confirm.tap();
  await phone.camera.setInputFiles(photos.made[2] ?? '');
  await phone.send.tap();
  await expect(phone.barStatus).toHaveText('✓ The photo is on the PC');
  await expect.poll(async () => (await pc.phoneImages()).length).toBe(2);

  // "No, not this patient" sends nothing and forgets the session.
  const other = await PhonePage.open(ctx, (await pc.state()).phone?.qrUrl ?? '');
  await other.decline.tap();
  await expect(other.heading).toHaveText('Nothing was sent');
  await other.screenshot('declined');
  expect(await other.leftovers()).toMatchObject({ sessionKeys: [] });
  await ctx.close();
});
