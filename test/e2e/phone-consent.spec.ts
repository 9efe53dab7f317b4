/**
 * The nurse records the patient's consent for her photos on the phone (Pixel 7 in Chromium, the real LAN server and
 * companion core): "Written" on photo 1, "Not needed" on photo 2 and then cleared again; on the PC photo 1 carries
 * the consent and photo 2 none. axe checks the capture screen with the consent buttons.
 */
import { devices, expect } from '@playwright/test';
import { PhonePage } from './phone/phone-page';
import { test } from './phone/fixtures';
import { expectAccessible } from './support/a11y';

test('the nurse records consent per photo on the phone and it arrives on the PC with the photo', async ({ browser, pc, photos }) => {
  const { defaultBrowserType: _engine, ...pixel7 } = devices['Pixel 7'];
  const ctx = await browser.newContext(pixel7);
  const phone = await PhonePage.open(ctx, (await pc.startPhone()).qrUrl);
  await phone.confirm.tap();
  await phone.gallery.setInputFiles([photos.made[0] ?? '', photos.made[1] ?? '']);
  await expect(phone.photo(2)).toBeVisible();

  const consent = (n: number, kind: string) => phone.photo(n).getByRole('group', { name: `Patient consent for photo ${n}` }).getByRole('button', { name: kind, exact: true });
  await consent(1, 'Written').tap();
  await expect(consent(1, 'Written')).toHaveAttribute('aria-pressed', 'true');
  await consent(2, 'Not needed').tap();
  await consent(2, 'Not needed').tap(); // pressed again: cleared
  await expect(consent(2, 'Not needed')).toHaveAttribute('aria-pressed', 'false');
  await expectAccessible(phone.page, 'phone-consent');

  await phone.send.tap();
  await expect(phone.barStatus).toHaveText('✓ All 2 photos are on the PC', { timeout: 60_000 });
  await expect(phone.photo(1)).toContainText('Consent: written');
  const images = await pc.phoneImages();
  expect(images.map((i) => [i.label, i.metadata.consent]).sort()).toEqual([
    ['Photo 1', 'written'],
    ['Photo 2', undefined],
  ]);
  await ctx.close();
});
