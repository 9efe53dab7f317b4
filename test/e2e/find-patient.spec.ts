/**
 * "Find patient by NHI", the fallback when the GP cannot launch from Medtech Evolution: the real renderer in
 * Debian's Chromium over the browser host's bridge to the real companion core, gateway and ALEX sandbox. The
 * found patient is only a candidate until the GP says "Yes, this patient"; nothing can be added before that.
 */
import { expect } from '@playwright/test';
import { AROHA, WIREMU, launch, patientId, patientSearches, test } from './desktop-fixtures';

test.describe('find patient by NHI', () => {
  test('no launch → find ZZZ0016 → confirm with the keyboard → add a photo → send: Medtech holds it for that patient', async ({ desktop, stack, photos }) => {
    const page = desktop.page;
    const gatewayConfirmations = async (): Promise<string[]> =>
      (await stack.gateway.store.listAudit({ limit: 1000 })).filter((a) => a.action === 'launch.confirmed').map((a) => a.outcome);
    await expect(desktop.noPatient).toBeVisible();
    await desktop.openFindByNhi('no-patient');
    await expect(desktop.nhiField).toBeFocused();

    await desktop.findByNhi('zzz0016');
    const card = desktop.confirmCard;
    await expect(card).toBeVisible();
    await expect(card).toContainText(AROHA.name);
    await expect(card).toContainText('ZZZ0016');
    await expect(card).toContainText(/14 Mar 1985 \(\d+ y\)/);
    await expect(card).toContainText('Female');
    // The safe choice has the focus; nothing is the working patient yet.
    await expect(desktop.findDialog.getByRole('button', { name: 'No, go back' })).toBeFocused();
    const pending = await stack.companion.core['app.getState']({});
    expect(pending.patient).toBeNull();
    expect(pending.pendingLookup?.patient.nhi).toBe(AROHA.nhi);
    expect(await gatewayConfirmations()).toEqual([]);
    await desktop.screenshot('find-01-confirm-patient');

    // Keyboard only: Tab to "Yes, this patient", Enter.
    await page.keyboard.press('Tab');
    await expect(desktop.findDialog.getByRole('button', { name: 'Yes, this patient' })).toBeFocused();
    await page.keyboard.press('Enter');
    await expect(desktop.findDialog).toHaveCount(0);
    await expect(desktop.banner).toContainText(AROHA.name);
    await expect(desktop.banner).toContainText(AROHA.nhi);
    // The gateway confirmed the grant before it became the working patient's (it refuses an unconfirmed one).
    expect(await gatewayConfirmations()).toEqual(['confirmed']);

    await desktop.pickFiles([photos[0]!]);
    await desktop.expectAllBadges(desktop.workingGroup, 'Needs info', 1);
    const [imageId] = await desktop.imageIds(desktop.workingGroup);
    await desktop.selectAll();
    await desktop.chooseBodySite('forea');
    await desktop.applyToAll();
    await desktop.expectAllBadges(desktop.workingGroup, 'Ready', 1);
    await desktop.commitButton.click();
    await expect(desktop.dialog.getByTestId('commit-summary')).toContainText(`1 image to ${AROHA.name}`);
    await desktop.send({ media: true, inboxScan: false });
    await expect(desktop.dialog.getByTestId('commit-tally')).toContainText('1 of 1 in Medtech', { timeout: 60_000 });
    await desktop.closeDialog();

    const media = stack.sandbox.store.listMedia();
    expect(media.map((m) => [m.identifier.value, m.patientId])).toEqual([[imageId, patientId(stack, AROHA.nhi)]]);
  });

  test('"No, go back" and Esc leave no patient and no candidate', async ({ desktop, stack }) => {
    await desktop.openFindByNhi('no-patient');
    await desktop.findByNhi(WIREMU.nhi);
    await expect(desktop.confirmCard).toContainText(WIREMU.name);
    await desktop.notThisPatient();
    // Back at the NHI field, with the number still there to correct.
    await expect(desktop.nhiField).toBeFocused();
    await expect(desktop.nhiField).toHaveValue(WIREMU.nhi);
    let state = await stack.companion.core['app.getState']({});
    expect(state.patient).toBeNull();
    expect(state.pendingLookup).toBeUndefined();

    await desktop.nhiField.press('Enter');
    await expect(desktop.confirmCard).toContainText(WIREMU.name);
    await desktop.page.keyboard.press('Escape');
    await expect(desktop.findDialog).toHaveCount(0);
    await expect(desktop.noPatient).toBeVisible();
    await expect(desktop.banner).toHaveCount(0);
    await expect(desktop.page.getByTestId('add-files')).toHaveCount(0);
    await expect.poll(async () => (await stack.companion.core['app.getState']({})).pendingLookup).toBeUndefined();
    state = await stack.companion.core['app.getState']({});
    expect(state.patient).toBeNull();
  });

  test('an invalid NHI is caught as it is typed; an NHI Medtech does not know and an offline gateway are said plainly', async ({ desktop, stack }) => {
    await desktop.openFindByNhi('no-patient');
    const searches = patientSearches(stack);

    await desktop.nhiField.pressSequentially('ZZZ0017');
    await expect(desktop.nhiProblem).toHaveText('This is not a valid NHI: the last character does not match. Check for a typing mistake.');
    await expect(desktop.nhiField).toHaveAttribute('aria-invalid', 'true');
    await desktop.screenshot('find-02-invalid-nhi');
    await desktop.nhiField.press('Enter');
    await expect(desktop.confirmCard).toHaveCount(0);
    await desktop.findByNhi('ZZZ00I6');
    await expect(desktop.nhiProblem).toContainText('never use the letters I or O');
    await desktop.findByNhi('ZZ16');
    await expect(desktop.nhiProblem).toContainText('An NHI has 7 characters');
    await expect(desktop.nhiField).toBeFocused();
    expect(patientSearches(stack)).toBe(searches);

    await desktop.findByNhi('ZZZ0059');
    await expect(desktop.lookupError).toContainText('No patient with NHI ZZZ0059 was found in Medtech for this practice.');
    await expect(desktop.lookupError).toContainText('Check the number');
    await expect(desktop.nhiProblem).toHaveText('');
    await expect(desktop.confirmCard).toHaveCount(0);
    await desktop.screenshot('find-03-not-found');

    await stack.stopGateway();
    await desktop.findByNhi(AROHA.nhi);
    await expect(desktop.lookupError).toContainText('ClinicPro cannot reach the internet service right now, so the patient cannot be looked up.');
    await expect(desktop.lookupError).not.toContainText('Images wait');
    const state = await stack.companion.core['app.getState']({});
    expect(state.patient).toBeNull();
    expect(state.pendingLookup).toBeUndefined();
  });

  test('"Wrong patient? Find by NHI" from the banner switches only once confirmed; earlier photos stay with their patient', async ({ desktop, stack, photos }) => {
    await launch(stack, AROHA.nhi);
    await expect(desktop.banner).toContainText(AROHA.name);
    await desktop.pickFiles([photos[0]!]);
    await desktop.expectAllBadges(desktop.workingGroup, 'Needs info', 1);

    await desktop.openFindByNhi('banner');
    await desktop.findByNhi(WIREMU.nhi);
    await expect(desktop.confirmCard).toContainText(WIREMU.name);
    expect((await stack.companion.core['app.getState']({})).patient?.nhi).toBe(AROHA.nhi);
    await desktop.confirmPatient();

    await expect(desktop.banner).toContainText(WIREMU.name);
    await expect(desktop.notice('patient-switched')).toContainText(`1 image stays with ${AROHA.name}`);
    await expect(desktop.cards(desktop.otherGroup(AROHA.name))).toHaveCount(1);
    await expect(desktop.page.getByText(`Drop photos here for ${WIREMU.name}`)).toBeVisible();
    await desktop.screenshot('find-04-switched-by-nhi');
  });

  test('a launch from Evolution that comes in while the GP is asked wins: the question goes away', async ({ desktop, stack }) => {
    await desktop.openFindByNhi('no-patient');
    await desktop.findByNhi(WIREMU.nhi);
    await expect(desktop.confirmCard).toBeVisible();
    await launch(stack, AROHA.nhi);
    await expect(desktop.confirmCard).toHaveCount(0);
    await expect(desktop.lookupError).toContainText('That patient search has ended');
    await desktop.page.keyboard.press('Escape');
    await expect(desktop.banner).toContainText(AROHA.name);
    expect((await stack.companion.core['app.getState']({})).patient?.nhi).toBe(AROHA.nhi);
  });
});
