/**
 * Every desktop screen and dialog through axe-core — at 1280×800, at 200 % zoom of that screen (a 640×400 CSS
 * viewport at device scale 2, which is what Chromium lays out at 200 %) and at 1024×768 — with no sideways scroll
 * (WCAG 1.4.10) and the banner's "Wrong patient? Find by NHI", Outbox and Settings reachable on screen.
 */
import { expect } from '@playwright/test';
import { AROHA, launch, test } from './desktop-fixtures';
import { expectAccessible, sidewaysScroll } from './support/a11y';

const SIZES = [
  { name: '1280x800', viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 },
  { name: 'zoom200', viewport: { width: 640, height: 400 }, deviceScaleFactor: 2 },
  { name: '1024x768', viewport: { width: 1024, height: 768 }, deviceScaleFactor: 1 },
] as const;

for (const size of SIZES) {
  test.describe(`desktop at ${size.name}`, () => {
    test.use({ viewport: size.viewport, deviceScaleFactor: size.deviceScaleFactor });

    test('every screen and dialog: 0 axe violations, no sideways scroll, the banner controls on screen', async ({ desktop, stack, photos }) => {
      const page = desktop.page;
      const check = async (screen: string): Promise<void> => {
        await expectAccessible(page, `desktop-${size.name}-${screen}`);
        expect.soft(await sidewaysScroll(page), `sideways scroll on "${screen}"`).toBe(0);
      };
      await expect(desktop.noPatient).toBeVisible();
      await check('no-patient');
      await desktop.openFindByNhi('no-patient');
      await check('find-patient');
      await desktop.closeDialog();

      await launch(stack, AROHA.nhi);
      await expect(desktop.banner).toContainText(AROHA.name);
      await desktop.pickFiles(photos);
      await desktop.expectAllBadges(desktop.workingGroup, 'Needs info', 1);
      await desktop.selectCard(desktop.cards(desktop.workingGroup).first());
      await check('photos-selected');
      for (const name of ['Wrong patient? Find by NHI', 'Outbox', 'Settings']) {
        const control = page.getByRole('button', { name: new RegExp(`^${name.replace('?', '\\?')}`) }).first();
        await control.scrollIntoViewIfNeeded();
        await expect(control, `${name} reachable`).toBeInViewport();
      }

      await desktop.cards(desktop.workingGroup).first().getByRole('button', { name: /^Open / }).click();
      await expect(page.getByRole('dialog')).toBeVisible();
      await check('preview');
      await page.getByRole('dialog').getByRole('button', { name: /^Edit/ }).click();
      await expect(page.getByTestId('editor-stage')).toBeVisible();
      await check('editor');
      await desktop.closeDialog();

      await desktop.chooseBodySite('back');
      await desktop.applyToAll();
      await desktop.expectAllBadges(desktop.workingGroup, 'Ready', 1);
      await desktop.commitButton.click();
      await expect(desktop.dialog).toBeVisible();
      await check('commit');
      await desktop.closeDialog();

      await desktop.openOutbox();
      await check('outbox');
      await desktop.closeDialog();
      await page.getByRole('button', { name: 'Settings' }).click();
      await expect(desktop.dialog).toBeVisible();
      await check('settings');
      await desktop.closeDialog();
      await page.locator('body').press('?');
      await expect(desktop.dialog).toBeVisible();
      await check('shortcuts');
      await desktop.closeDialog();

      await page.getByTestId('start-phone').click();
      await expect(page.getByTestId('phone-panel').getByTestId('phone-qr')).toBeVisible();
      await check('phone-panel');

      // "Remove 1" asks first; then the enrolment screen (Settings → Enrol this PC again…).
      await page.getByRole('button', { name: 'Remove 1' }).click();
      await expect(desktop.dialog).toBeVisible();
      await check('confirm-remove');
      await desktop.closeDialog();
      await page.getByRole('button', { name: 'Settings' }).click();
      await page.getByRole('button', { name: 'Enrol this PC again…' }).click();
      await expect(page.getByRole('dialog', { name: 'Enrol this PC again?' })).toBeVisible();
      await check('confirm-enrol-again');
      await page.getByRole('dialog', { name: 'Enrol this PC again?' }).getByRole('button', { name: 'Enrol again' }).click();
      await expect(desktop.enrolAgainForm).toBeVisible();
      await check('enrolment');
    });
  });
}
