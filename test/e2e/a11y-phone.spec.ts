/**
 * Every phone screen through axe-core, on a Pixel 7 and on a small 360×640 phone: confirm, capture (empty, with
 * photos), the body-site sheet, sending done, the PC moved on (held photos), the session over, declined, and a
 * PC that cannot be reached. No sideways scroll on any of them.
 */
import { devices, expect, type Browser, type BrowserContext } from '@playwright/test';
import { PhonePage } from './phone/phone-page';
import { test } from './phone/fixtures';
import { WIREMU } from './phone/stack';
import { expectAccessible, sidewaysScroll } from './support/a11y';

const PHONES = {
  'pixel7': () => {
    const { defaultBrowserType: _engine, ...profile } = devices['Pixel 7'];
    return profile;
  },
  '360x640': () => ({ viewport: { width: 360, height: 640 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true }),
} as const;

async function phoneContext(browser: Browser, name: keyof typeof PHONES): Promise<BrowserContext> {
  return browser.newContext(PHONES[name]());
}

for (const name of Object.keys(PHONES) as (keyof typeof PHONES)[]) {
  test(`${name}: every phone screen has 0 axe violations and no sideways scroll`, async ({ browser, pc, photos }) => {
    const ctx = await phoneContext(browser, name);
    const check = async (phone: PhonePage, screen: string): Promise<void> => {
      await expectAccessible(phone.page, `phone-${name}-${screen}`);
      expect.soft(await sidewaysScroll(phone.page), `sideways scroll on "${screen}"`).toBe(0);
    };
    const view = await pc.startPhone();
    const phone = await PhonePage.open(ctx, view.qrUrl);
    await expect(phone.confirm).toBeVisible();
    await check(phone, 'confirm');
    await phone.confirm.tap();
    await expect(phone.page.getByRole('button', { name: 'Take photo' })).toBeVisible();
    await check(phone, 'capture-empty');
    await phone.gallery.setInputFiles([photos.made[0] ?? '', photos.made[1] ?? '']);
    await expect(phone.photo(2)).toBeVisible();
    await check(phone, 'capture-photos');
    await phone.photo(1).getByTestId('site').tap();
    await expect(phone.page.getByRole('dialog')).toBeVisible();
    await check(phone, 'body-site');
    await phone.page.getByRole('dialog').getByRole('button', { name: 'Forearm', exact: true }).tap();
    await phone.send.tap();
    await expect(phone.barStatus).toHaveText('✓ All 2 photos are on the PC', { timeout: 60_000 });
    await check(phone, 'sent');

    await phone.camera.setInputFiles(photos.made[2] ?? '');
    await expect(phone.photo(3)).toBeVisible();
    await pc.launch(WIREMU.nhi);
    await phone.comeBack();
    await expect(phone.page.getByTestId('switched')).toBeVisible();
    await check(phone, 'switched');
    await phone.send.tap();
    await expect(phone.heading).toHaveText('The PC changed to another patient');
    await check(phone, 'patient-changed');

    const next = await pc.startPhone();
    const second = await PhonePage.open(ctx, next.qrUrl);
    await second.decline.tap();
    await expect(second.heading).toHaveText('Nothing was sent');
    await check(second, 'declined');

    const third = await ctx.newPage();
    await third.route('**/api/images/v1/session/exchange', (route) => route.abort('connectionrefused'));
    await third.goto((await pc.startPhone()).qrUrl);
    const unreachable = new PhonePage(third);
    await expect(unreachable.heading).toHaveText('Cannot reach the PC');
    await check(unreachable, 'unreachable');
    await ctx.close();
  });
}
