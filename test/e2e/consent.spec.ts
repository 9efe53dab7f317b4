/**
 * The patient's consent with the photo, on the desktop: the practice makes it required in Settings, two photos show
 * "needs info" with the plain reason, the GP records "Verbal" once for both with "Apply to all", sends, and Medtech
 * (the ALEX sandbox) holds each photo under a title that names the photo and says the consent; the gateway's audit
 * keeps the consent kind. axe checks the Details panel and Settings with the consent field.
 */
import { expect } from '@playwright/test';
import { AROHA, launch, test } from './desktop-fixtures';
import { expectAccessible } from './support/a11y';
import { storedTitle } from '../helpers/stored-title';

test.use({ smallPhotos: 2 });

test('consent required by the practice: set on two photos with "Apply to all", sent, and said in Medtech\'s titles', async ({ desktop, stack, photos }) => {
  const page = desktop.page;
  await launch(stack, AROHA.nhi);
  await expect(desktop.banner).toContainText(AROHA.name);

  // The practice setting: record the patient's consent before sending (off by default).
  await page.getByRole('button', { name: 'Settings' }).click();
  await page.getByRole('checkbox', { name: /^Patient consent/ }).check();
  await expectAccessible(page, 'consent-settings');
  await desktop.dialog.getByRole('button', { name: 'Save' }).click();
  await expect(desktop.dialog).toHaveCount(0);

  await desktop.pickFiles(photos);
  await desktop.expectAllBadges(desktop.workingGroup, 'Needs info', 2);
  await expect(desktop.card('photo-01.jpg').locator('.image-missing')).toHaveText('Needs: body site, patient consent');

  // Body site and consent for both photos at once.
  await desktop.selectAll();
  await desktop.chooseBodySite('forea');
  await page.getByLabel(/^Patient consent/).selectOption({ label: 'Verbal' });
  await expectAccessible(page, 'consent-details');
  await desktop.applyToAll();
  await desktop.expectAllBadges(desktop.workingGroup, 'Ready', 2);
  await expect(desktop.cards(desktop.workingGroup).first()).toContainText('Consent: verbal');
  await desktop.screenshot('consent-ready');

  await desktop.commitButton.click();
  await desktop.send({ media: true, inboxScan: true });
  await expect(desktop.dialog.getByTestId('commit-tally')).toContainText('2 of 2 in Medtech', { timeout: 60_000 });
  await desktop.closeDialog();

  // Each photo's Media and Inbox Scan title names the photo first and says the consent.
  const titles = [...stack.sandbox.store.listMedia(), ...stack.sandbox.store.listDocumentReferences()].map((s) => storedTitle(s.resource)).sort();
  expect(titles).toHaveLength(4);
  for (const [i, name] of ['photo-01.jpg', 'photo-01.jpg', 'photo-02.jpg', 'photo-02.jpg'].entries()) {
    expect(titles[i]).toMatch(new RegExp(`^${name.replace('.', '\\.')} — Forearm — .* — consent: verbal`));
  }
  const audit = (await stack.gateway.store.listAudit({ limit: 1000 })).filter((r) => r.action === 'commit');
  expect(audit.map((r) => r.consent)).toEqual(['verbal', 'verbal']);
});
