/**
 * One real journey through the real Electron app: enrol on first run, launch from "Evolution" as a second
 * launch carrying the clinicpro-images:// link (the single-instance hand-off and the protocol argv), the patient
 * banner, add a photo, tag it, send it, and see it in Medtech (the ALEX sandbox) — exactly once, for that patient.
 */
import { expect, test } from '@playwright/test';
import { DesktopPage } from '../e2e/pages/desktop-page';
import { AROHA, enrolThroughUi, FIXTURE_PHOTO, startApp, type RunningApp } from './app';

let running: RunningApp;
test.beforeEach(async () => {
  running = await startApp();
});
test.afterEach(async () => {
  await running.close();
});

test('launch link → patient shown → add a photo → send → in Medtech ✓', async () => {
  const desktop = new DesktopPage(running.window);
  await enrolThroughUi(running);
  await expect(desktop.noPatient).toBeVisible();

  // Evolution opens the link while the app runs: Windows starts a second process, which hands over and quits.
  const code = await running.secondLaunch([running.stack.launchUrlFor(AROHA.nhi)]);
  expect(code).toBe(0);
  await expect(desktop.banner).toContainText(AROHA.name);
  await expect(desktop.banner).toContainText(AROHA.nhi);
  expect(running.app.windows()).toHaveLength(1);

  await desktop.pickFiles([FIXTURE_PHOTO]);
  await desktop.expectAllBadges(desktop.workingGroup, 'Needs info', 1);
  await desktop.selectAll();
  await desktop.chooseBodySite('forea');
  await desktop.chooseSide('Left');
  await desktop.applyToAll();
  await desktop.expectAllBadges(desktop.workingGroup, 'Ready', 1);
  const [id] = await desktop.imageIds(desktop.workingGroup);

  await desktop.commitButton.click();
  await desktop.send({ media: true, inboxScan: false });
  await expect(desktop.dialog.getByTestId('commit-tally')).toContainText('1 of 1 in Medtech', { timeout: 90_000 });
  await desktop.closeDialog();
  await desktop.expectAllBadges(desktop.workingGroup, 'Committed', 1);

  const patient = running.stack.sandbox.patients.find((p) => p.nhi === AROHA.nhi);
  const media = running.stack.sandbox.store.listMedia();
  expect(media.map((m) => [m.identifier.value, m.patientId])).toEqual([[id, patient?.id]]);
});
