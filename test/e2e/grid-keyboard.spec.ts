/**
 * Keyboard movement between photo cards in the desktop grid: arrow keys (Up/Down by row), Home/End, and a roving
 * tabindex (one card of the group is in the Tab order). Real renderer in Debian's Chromium, real core and stack.
 */
import { expect } from '@playwright/test';
import { AROHA, launch, test } from './desktop-fixtures';

test.use({ smallPhotos: 7, viewport: { width: 1280, height: 900 } });

test('arrow keys, Home and End move between photo cards; only one card is a Tab stop', async ({ desktop, stack, photos }) => {
  const page = desktop.page;
  await launch(stack, AROHA.nhi);
  await expect(desktop.banner).toContainText(AROHA.name);
  await desktop.pickFiles(photos);
  await desktop.expectAllBadges(desktop.workingGroup, 'Needs info', 7);
  const group = desktop.workingGroup;
  const cards = desktop.cards(group);
  const perRow = await desktop.cardsPerRow(group);
  expect(perRow).toBeGreaterThan(1);
  expect(perRow).toBeLessThan(7); // at least two rows, so Up/Down mean something

  // One Tab stop for the whole grid.
  const tabStops = group.locator('.image-select[tabindex="0"]');
  await expect(tabStops).toHaveCount(1);
  await desktop.cardButton(cards.nth(0)).focus();
  const at = () => desktop.focusedCardIndex(group);
  expect(await at()).toBe(0);

  await page.keyboard.press('ArrowRight');
  expect(await at()).toBe(1);
  await page.keyboard.press('ArrowDown');
  expect(await at()).toBe(1 + perRow);
  await page.keyboard.press('ArrowUp');
  expect(await at()).toBe(1);
  await page.keyboard.press('ArrowLeft');
  expect(await at()).toBe(0);
  await page.keyboard.press('ArrowLeft'); // no wrap at the start
  expect(await at()).toBe(0);
  await page.keyboard.press('ArrowUp'); // nothing above the first row
  expect(await at()).toBe(0);
  await page.keyboard.press('End');
  expect(await at()).toBe(6);
  await page.keyboard.press('ArrowRight'); // no wrap at the end
  expect(await at()).toBe(6);
  await page.keyboard.press('Home');
  expect(await at()).toBe(0);
  await page.keyboard.press('ArrowDown');
  expect(await at()).toBe(perRow);
  // The last card of the first row: straight below is past the end, so Down lands on the last card.
  await page.keyboard.press('ArrowUp');
  for (let i = 1; i < perRow; i++) await page.keyboard.press('ArrowRight');
  expect(await at()).toBe(perRow - 1);
  await page.keyboard.press('ArrowDown');
  expect(await at()).toBe(perRow - 1 + perRow < 7 ? 2 * perRow - 1 : 6);
  await page.keyboard.press('ArrowLeft');

  // The roving Tab stop followed the focus; Space selects that card.
  const here = await at();
  await expect(tabStops).toHaveCount(1);
  await expect(desktop.cardButton(cards.nth(here))).toHaveAttribute('tabindex', '0');
  await page.keyboard.press('Space');
  await expect(desktop.cardButton(cards.nth(here))).toHaveAttribute('aria-pressed', 'true');
  await expect(page.getByRole('heading', { name: /Details · 1 photo selected/ })).toBeVisible();

  // Tab goes to that card's own Open button, then out of the grid, not through every other card.
  await page.keyboard.press('Tab');
  await expect(cards.nth(here).getByRole('button', { name: /^Open / })).toBeFocused();
  await page.keyboard.press('Tab');
  expect(await at()).toBe(-1);
  // Shift+Tab comes back to the same card.
  await page.keyboard.press('Shift+Tab');
  await page.keyboard.press('Shift+Tab');
  expect(await at()).toBe(here);
  await desktop.screenshot('grid-keyboard-focus');
});
