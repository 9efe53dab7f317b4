/**
 * Accessibility checks shared by the specs: axe-core (WCAG 2.x A/AA rules and best practices) on the page as it
 * stands, and reflow (WCAG 1.4.10): no sideways scrolling at the viewport the test set.
 */
import { mkdir } from 'node:fs/promises';
import { AxeBuilder } from '@axe-core/playwright';
import { expect, type Page } from '@playwright/test';

export const SCREENSHOT_DIR = 'test-results/screenshots';

/** axe violations on the page, as "rule-id: target" lines (empty when clean). */
export async function axeViolations(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page }).analyze();
  return result.violations.flatMap((v) => v.nodes.map((n) => `${v.id} (${v.impact ?? 'n/a'}): ${n.target.join(' ')}`));
}

/** axe finds nothing on this screen; a screenshot of it is kept under test-results/screenshots. */
export async function expectAccessible(page: Page, screen: string): Promise<void> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: `${SCREENSHOT_DIR}/a11y-${screen}.png` });
  expect.soft(await axeViolations(page), `axe on "${screen}"`).toEqual([]);
}

/** Sideways scroll of the page, in CSS pixels (0 when the content reflows into the viewport). */
export async function sidewaysScroll(page: Page): Promise<number> {
  return page.evaluate(() => {
    const d = (globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }).document.documentElement;
    return Math.max(0, d.scrollWidth - d.clientWidth);
  });
}
