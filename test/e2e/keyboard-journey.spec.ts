/**
 * The GP's whole journey with the keyboard alone: launch → add 3 photos (Ctrl+O) → tag them (Ctrl+A, the Details
 * panel) → open one, draw an arrow and a crop with the arrow keys and Enter → send (Ctrl+Enter) → in Medtech.
 * Every step is a key press: Tab moves to a control (`tabTo` presses Tab until it has the focus), never a click.
 */
import { expect, type Locator, type Page } from '@playwright/test';
import { AROHA, launch, test } from './desktop-fixtures';

test.use({ smallPhotos: 3, viewport: { width: 1280, height: 800 } });

/** Press Tab (or Shift+Tab) until `target` has the focus; fails after `max` presses. Returns the presses. */
async function tabTo(page: Page, target: Locator, max = 80, back = false): Promise<number> {
  for (let i = 1; i <= max; i++) {
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
    if (await target.evaluate((el) => el === el.ownerDocument.activeElement)) return i;
  }
  throw new Error(`could not reach ${target.toString()} with the Tab key`);
}

test('launch → 3 photos → tag → edit with arrow and crop → send, with the keyboard alone', async ({ desktop, stack, photos }) => {
  const page = desktop.page;
  let keys = 0;
  const press = async (key: string): Promise<void> => {
    keys += 1;
    await page.keyboard.press(key);
  };
  const tab = async (target: Locator, back = false): Promise<void> => {
    keys += await tabTo(page, target, 80, back);
  };

  await launch(stack, AROHA.nhi);
  await expect(desktop.banner).toContainText(AROHA.name);

  // Ctrl+O: the file picker; the three photos are chosen there (the system dialog, not our page).
  const chooser = page.waitForEvent('filechooser');
  await page.locator('body').focus();
  await press('Control+o');
  await (await chooser).setFiles(photos);
  await desktop.expectAllBadges(desktop.workingGroup, 'Needs info', 3);

  // Tag all three: Ctrl+A, then the body site in the Details panel, then "Apply to all".
  await tab(desktop.cardButton(desktop.cards(desktop.workingGroup).first()));
  await press('Control+a');
  await tab(desktop.bodySite);
  await page.keyboard.type('forearm');
  keys += 'forearm'.length;
  await press('ArrowDown');
  await press('Enter');
  await tab(page.getByRole('button', { name: /^Apply to all/ }));
  await press('Enter');
  await desktop.expectAllBadges(desktop.workingGroup, 'Ready', 3);

  // Open the first photo (Enter on its Open button), Edit, and draw with the arrow keys.
  const first = desktop.cards(desktop.workingGroup).first();
  await tab(first.getByRole('button', { name: /^Open / }), true);
  await press('Enter');
  const dialog = page.getByRole('dialog');
  await expect(dialog.getByTestId('preview-patient')).toContainText(AROHA.name);
  await tab(dialog.getByRole('button', { name: /^Edit/ }));
  await press('Enter');
  const stage = dialog.getByTestId('editor-stage');
  await tab(stage);
  // Arrow (the default tool): from the centre, two big steps right and one down.
  await press('Enter');
  await press('Shift+ArrowRight');
  await press('Shift+ArrowRight');
  await press('Shift+ArrowDown');
  await press('Enter');
  await expect(stage).toHaveAttribute('aria-label', /1 marks/);
  // Crop: choose the tool (arrow keys move within the tool radio group), then two corners.
  await tab(dialog.getByRole('radio', { name: 'Arrow' }), true);
  await press('ArrowLeft'); // Crop
  await expect(dialog.getByRole('radio', { name: 'Crop' })).toBeChecked();
  await tab(stage);
  for (const k of ['Shift+ArrowLeft', 'Shift+ArrowLeft', 'Shift+ArrowLeft', 'Shift+ArrowUp', 'Shift+ArrowUp', 'Shift+ArrowUp']) await press(k);
  await press('Enter');
  for (const k of ['Shift+ArrowRight', 'Shift+ArrowRight', 'Shift+ArrowRight', 'Shift+ArrowRight', 'Shift+ArrowRight', 'Shift+ArrowDown', 'Shift+ArrowDown', 'Shift+ArrowDown', 'Shift+ArrowDown', 'Shift+ArrowDown']) await press(k);
  await press('Enter');
  await expect(stage).toHaveAttribute('aria-label', /1 marks, cropped/);
  await page.screenshot({ path: 'test-results/screenshots/keyboard-editor.png' });
  await tab(dialog.getByRole('button', { name: 'Save changes' }));
  await press('Enter');
  await expect(dialog.getByRole('button', { name: /^Edit/ })).toBeVisible();
  await press('Escape');
  await expect(page.getByRole('dialog')).toHaveCount(0);

  const edited = (await stack.companion.core['app.getState']({})).images.find((i) => i.edits.annotations.length > 0);
  expect(edited?.edits.annotations.map((a) => a.kind)).toEqual(['arrow']);
  // The point stayed where the arrow ended (70 %, 60 %): the crop runs from (40 %, 30 %) to (90 %, 80 %).
  expect(edited?.edits.crop).toEqual({ x: 0.4, y: 0.3, width: 0.5, height: 0.5 });

  // Send: Ctrl+Enter opens the send dialog; Enter on "Send".
  await page.locator('body').focus();
  await press('Control+Enter');
  const send = page.getByTestId('commit-send');
  await expect(send).toBeVisible();
  await tab(send);
  await press('Enter');
  await desktop.expectAllBadges(desktop.workingGroup, 'Committed', 3, 60_000);
  expect(stack.sandbox.store.listMedia().length + stack.sandbox.store.listDocumentReferences().length).toBeGreaterThanOrEqual(3);
  await page.screenshot({ path: 'test-results/screenshots/keyboard-sent.png' });
  test.info().annotations.push({ type: 'key presses', description: String(keys) });
  console.log(`keyboard journey: ${keys} key presses`);
});
