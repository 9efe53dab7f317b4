/**
 * Enrolling the PC again, in the real desktop window (Debian's Chromium) against the real companion core, gateway
 * and ALEX sandbox: a PC whose access the practice's ClinicPro administrator withdrew shows the enrolment screen
 * with why, keeps the photo it had queued, and sends it once a new code is entered (and the patient is opened again,
 * since the old launch grant belonged to the withdrawn PC). Practice IT can also choose "Enrol this PC again" in
 * Settings.
 */
import { expect } from '@playwright/test';
import { loadDeviceCredentials } from '../../electron/secrets/testkit/device-credentials';
import { AROHA, launch, test } from './desktop-fixtures';

/** The device id this PC is enrolled as (from its credential store). */
async function deviceIdOf(secrets: Parameters<typeof loadDeviceCredentials>[0]): Promise<string> {
  const creds = await loadDeviceCredentials(secrets);
  if (!creds) throw new Error('this PC has no stored credential');
  return creds.deviceId;
}

test.describe('enrolling this PC again', () => {
  test('revoked → the enrolment screen says why → a new code → the photo in the outbox reaches Medtech once', async ({ desktop, stack, photos }) => {
    await launch(stack, AROHA.nhi);
    await expect(desktop.banner).toContainText(AROHA.name);
    await desktop.pickFiles(photos);
    await desktop.expectAllBadges(desktop.workingGroup, 'Needs info', 1);
    const [imageId] = await desktop.imageIds(desktop.workingGroup);
    await desktop.selectCard(desktop.cards(desktop.workingGroup).first());
    await desktop.chooseBodySite('forea');
    await desktop.applyToSelected();
    await desktop.expectAllBadges(desktop.workingGroup, 'Ready', 1);

    // The practice's ClinicPro administrator withdraws this PC (what `gateway:admin devices revoke` does).
    const oldDevice = await deviceIdOf(stack.secrets);
    expect(await stack.gateway.store.revokeDevice(oldDevice, Date.now())).toBe(true);

    await desktop.commitButton.click();
    await desktop.send({ media: true, inboxScan: false });
    // The outbox's send is refused: the window turns to the enrolment screen, saying why, and the photo is kept.
    await expect(desktop.enrolAgainForm).toBeVisible({ timeout: 30_000 });
    await expect(desktop.enrolReason).toHaveText(
      "This PC's access was withdrawn by your practice's ClinicPro administrator. Enter a new enrolment code to use it again.",
    );
    await expect(desktop.enrolWaiting).toHaveText('1 photo waiting to be sent stays on this PC and is sent once it is enrolled again for Sandbox Medical Centre.');
    await expect(desktop.page.getByLabel('Name for this PC')).toHaveValue('Development PC');
    await desktop.screenshot('re-enrol-01-revoked');
    expect(stack.sandbox.store.listMedia({ identifierValue: imageId as string })).toEqual([]);
    const state = await stack.companion.core['app.getState']({});
    expect(state.outbox.find((o) => o.imageId === imageId)?.status).toBe('waiting');

    // A wrong code is refused plainly and the screen stays.
    await desktop.enrol('WRONG-CODE-0000', 'Development PC');
    await expect(desktop.enrolAgainForm.getByRole('alert')).toContainText('That enrolment code is not valid');

    await desktop.enrol(await stack.newEnrolmentCode(), 'Development PC');
    await expect(desktop.enrolAgainForm).toHaveCount(0);
    await expect(desktop.banner).toContainText(AROHA.name);
    // Back to the photos, with no stale dialog from before.
    await expect(desktop.dialog).toHaveCount(0);
    expect(await deviceIdOf(stack.secrets)).not.toBe(oldDevice);
    await desktop.screenshot('re-enrol-02-enrolled-again');

    // Its launch grant was the withdrawn PC's: opening the patient again from Evolution sends it.
    await launch(stack, AROHA.nhi);
    await desktop.expectAllBadges(desktop.workingGroup, 'Committed', 1, 60_000);
    expect(stack.sandbox.store.listMedia({ identifierValue: imageId as string })).toHaveLength(1);
    expect(stack.sandbox.store.listMedia()).toHaveLength(1);
    await desktop.screenshot('re-enrol-03-committed');
  });

  test('Settings → "Enrol this PC again" (confirmed) → a new code replaces the PC\'s access; Cancel leaves it as it was', async ({ desktop, stack }) => {
    await expect(desktop.noPatient).toBeVisible();
    const before = await deviceIdOf(stack.secrets);

    await desktop.enrolAgainFromSettings();
    await expect(desktop.enrolReason).toHaveCount(0);
    await expect(desktop.enrolAgainForm).toContainText('This PC stays enrolled with Sandbox Medical Centre until the new code is accepted.');
    await desktop.screenshot('re-enrol-04-from-settings');
    await desktop.enrolAgainForm.getByRole('button', { name: 'Cancel' }).click();
    await expect(desktop.noPatient).toBeVisible();
    expect(await deviceIdOf(stack.secrets)).toBe(before);

    await desktop.enrolAgainFromSettings();
    await desktop.enrol(await stack.newEnrolmentCode(), 'Consult room 3');
    await expect(desktop.noPatient).toBeVisible();
    expect(await deviceIdOf(stack.secrets)).not.toBe(before);
    expect((await stack.companion.core['app.getState']({})).enrolment).toMatchObject({ enrolled: true, deviceName: 'Consult room 3' });
    // The old access is gone at the gateway side too only when the administrator revokes it; this PC no longer uses it.
    await launch(stack, AROHA.nhi);
    await expect(desktop.banner).toContainText(AROHA.name);
  });
});
