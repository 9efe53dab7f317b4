/** The nurse's phone page, as a page object: locators by role and visible text, the way a nurse finds things. */
import { mkdir } from 'node:fs/promises';
import { devices, expect, type Browser, type BrowserContext, type Locator, type Page } from '@playwright/test';

export const SCREENSHOT_DIR = 'test-results/screenshots';
export type PhoneModel = 'Pixel 7' | 'iPhone 14';

/** A phone in Chromium with the model's screen, pixel ratio, touch and user agent (the engine stays Chromium). */
export async function newPhone(browser: Browser, model: PhoneModel): Promise<BrowserContext> {
  const { defaultBrowserType: _engine, ...profile } = devices[model];
  return browser.newContext(profile);
}

/** The browser globals the tests read inside `page.evaluate`, typed just enough (test code has no DOM types). */
export interface BrowserGlobals {
  localStorage: { length: number };
  sessionStorage: object;
  indexedDB: { databases(): Promise<unknown[]> };
  caches?: { keys(): Promise<unknown[]> };
  navigator: { serviceWorker?: { getRegistrations(): Promise<unknown[]> } };
  document: { querySelectorAll(selector: string): { length: number }; dispatchEvent(event: Event): boolean };
  location: { hash: string };
}

export class PhonePage {
  readonly confirm: Locator;
  readonly decline: Locator;
  readonly patientName: Locator;
  readonly dob: Locator;
  readonly gallery: Locator;
  readonly camera: Locator;
  readonly send: Locator;
  readonly photos: Locator;
  readonly barStatus: Locator;
  readonly heading: Locator;
  readonly endedMessage: Locator;
  readonly banner: Locator;

  constructor(readonly page: Page) {
    this.confirm = page.getByRole('button', { name: 'Yes, this is the patient' });
    this.decline = page.getByRole('button', { name: 'No, not this patient' });
    this.patientName = page.getByTestId('patient-name');
    this.dob = page.getByTestId('patient-dob');
    this.gallery = page.getByTestId('gallery-input');
    this.camera = page.getByTestId('camera-input');
    this.send = page.getByTestId('send');
    this.photos = page.getByTestId('photo');
    this.barStatus = page.getByTestId('bar-status');
    this.heading = page.locator('h1');
    this.endedMessage = page.getByTestId('ended-message');
    this.banner = page.locator('.banner');
  }

  static async open(context: BrowserContext, url: string): Promise<PhonePage> {
    const page = await context.newPage();
    await page.goto(url);
    return new PhonePage(page);
  }

  photo(n: number): Locator {
    return this.photos.filter({ hasText: `Photo ${n} ·` });
  }

  async pickSite(n: number, search: string, site: string): Promise<void> {
    await this.photo(n).getByTestId('site').tap();
    const sheet = this.page.getByRole('dialog');
    await expect(sheet).toBeVisible();
    if (search !== '') await sheet.getByRole('searchbox').fill(search);
    await sheet.getByRole('button', { name: site, exact: true }).tap();
    await expect(sheet).toBeHidden();
  }

  async side(n: number, side: 'Left' | 'Right' | 'Both sides'): Promise<void> {
    await this.photo(n).getByRole('button', { name: side, exact: true }).tap();
  }

  /** What the phone does when the nurse comes back to the browser (switching apps, unlocking). */
  async comeBack(): Promise<void> {
    await this.page.evaluate(() => (globalThis as unknown as BrowserGlobals).document.dispatchEvent(new Event('visibilitychange')));
  }

  async screenshot(name: string): Promise<void> {
    await mkdir(SCREENSHOT_DIR, { recursive: true });
    await this.page.screenshot({ path: `${SCREENSHOT_DIR}/mobile-${name}.png` });
  }

  /** What the page keeps in the browser after it is done: storage, databases, caches, workers, live images. */
  async leftovers(): Promise<{ localStorage: number; indexedDb: number; caches: number; serviceWorkers: number; blobImages: number; sessionKeys: string[] }> {
    return this.page.evaluate(async () => {
      const w = globalThis as unknown as BrowserGlobals;
      return {
        localStorage: w.localStorage.length,
        indexedDb: (await w.indexedDB.databases()).length,
        caches: w.caches === undefined ? 0 : (await w.caches.keys()).length,
        serviceWorkers: w.navigator.serviceWorker === undefined ? 0 : (await w.navigator.serviceWorker.getRegistrations()).length,
        blobImages: w.document.querySelectorAll('img[src^="blob:"]').length,
        sessionKeys: Object.keys(w.sessionStorage),
      };
    });
  }
}
