/**
 * Page object for the desktop window (renderer/desktop). Tests speak in the GP's terms — "add photos",
 * "tag", "send" — and the locators live here, so a markup change is fixed in one place.
 */
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { expect, type Locator, type Page } from '@playwright/test';

export const SCREENSHOT_DIR = 'test-results/screenshots';

export type BadgeText = 'Processing' | 'Needs info' | 'Ready' | 'Sending' | 'Waiting' | 'Committed' | 'Failed';

export class DesktopPage {
  constructor(readonly page: Page) {}

  async open(url: string): Promise<void> {
    await this.page.goto(url);
    // The one-time token is taken out of the address bar at once.
    await expect.poll(() => this.page.url()).not.toContain('token=');
  }

  // --- enrolment ---------------------------------------------------------------------------------------
  get enrolForm(): Locator {
    return this.page.getByRole('form', { name: 'Set up this PC' });
  }
  async enrol(code: string, deviceName: string): Promise<void> {
    await this.page.getByLabel('Enrolment code').fill(code);
    await this.page.getByLabel('Name for this PC').fill(deviceName);
    await this.page.getByRole('button', { name: 'Enrol this PC' }).click();
  }
  get formError(): Locator {
    return this.enrolForm.getByRole('alert');
  }
  /** The enrolment screen of a PC that was enrolled before (its enrolment ended, or practice IT chose to enrol again). */
  get enrolAgainForm(): Locator {
    return this.page.getByRole('form', { name: 'Enrol this PC again' });
  }
  /** Why this PC has to be enrolled again, in plain words. */
  get enrolReason(): Locator {
    return this.page.getByTestId('enrol-reason');
  }
  /** "N photos waiting to be sent stay on this PC…" on the enrolment screen. */
  get enrolWaiting(): Locator {
    return this.page.getByTestId('enrol-waiting');
  }
  /** Settings → "Enrol this PC again…" → confirm: the enrolment screen opens. */
  async enrolAgainFromSettings(): Promise<void> {
    await this.page.getByRole('button', { name: 'Settings' }).click();
    await this.page.getByRole('button', { name: 'Enrol this PC again…' }).click();
    const confirm = this.page.getByRole('dialog', { name: 'Enrol this PC again?' });
    await expect(confirm).toBeVisible();
    await confirm.getByRole('button', { name: 'Enrol again' }).click();
    await expect(this.enrolAgainForm).toBeVisible();
  }

  // --- patient -----------------------------------------------------------------------------------------
  get banner(): Locator {
    return this.page.getByTestId('patient-banner');
  }
  get noPatient(): Locator {
    return this.page.getByTestId('no-patient');
  }
  get launchError(): Locator {
    return this.page.getByTestId('launch-error');
  }

  // --- find patient by NHI (fallback when there is no launch) ------------------------------------------------
  /** "Find patient by NHI" from the no-patient screen, or "Wrong patient? Find by NHI" from the banner. */
  async openFindByNhi(from: 'no-patient' | 'banner'): Promise<void> {
    await this.page.getByTestId(from === 'banner' ? 'banner-find-by-nhi' : 'find-by-nhi').click();
    await expect(this.findDialog).toBeVisible();
  }
  get findDialog(): Locator {
    return this.page.getByRole('dialog', { name: 'Find patient by NHI' });
  }
  get nhiField(): Locator {
    return this.findDialog.getByLabel('NHI number');
  }
  /** The inline message under the NHI field. */
  get nhiProblem(): Locator {
    return this.findDialog.getByTestId('nhi-problem');
  }
  /** A search that failed (not found, offline…). */
  get lookupError(): Locator {
    return this.findDialog.getByTestId('lookup-error');
  }
  /** "Is this the patient in front of you?" with name, NHI, date of birth (age) and sex. */
  get confirmCard(): Locator {
    return this.findDialog.getByRole('group', { name: 'Is this the patient in front of you?' });
  }
  /** Type the NHI and press Enter, as a GP would. */
  async findByNhi(nhi: string): Promise<void> {
    await this.nhiField.fill('');
    await this.nhiField.pressSequentially(nhi);
    await this.nhiField.press('Enter');
  }
  async confirmPatient(): Promise<void> {
    await this.findDialog.getByRole('button', { name: 'Yes, this patient' }).click();
    await expect(this.findDialog).toHaveCount(0);
  }
  async notThisPatient(): Promise<void> {
    await this.findDialog.getByRole('button', { name: 'No, go back' }).click();
    await expect(this.confirmCard).toHaveCount(0);
  }

  // --- capture -----------------------------------------------------------------------------------------
  /** Drop files on the window, as from Explorer: a real `drop` event carrying a DataTransfer of Files. */
  async dropFiles(paths: string[]): Promise<void> {
    const files = await Promise.all(paths.map(async (p) => ({ name: basename(p), b64: (await readFile(p)).toString('base64') })));
    const dataTransfer = await this.page.evaluateHandle((list) => {
      // Runs in the page (DOM types are not in this Node-side file).
      const g = globalThis as unknown as { DataTransfer: new () => { items: { add(file: unknown): void } } };
      const dt = new g.DataTransfer();
      for (const f of list) {
        const bin = atob(f.b64);
        const bytes = new Uint8Array(bin.length);
        for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
        dt.items.add(new File([bytes], f.name));
      }
      return dt;
    }, files);
    const target = this.page.locator('main');
    await target.dispatchEvent('dragenter', { dataTransfer });
    await target.dispatchEvent('dragover', { dataTransfer });
    await target.dispatchEvent('drop', { dataTransfer });
  }
  /** Ctrl+V of a copied image: a real `paste` event whose clipboard holds the image file. */
  async pasteImage(path: string, mime: string): Promise<void> {
    const b64 = (await readFile(path)).toString('base64');
    await this.page.evaluate(
      ({ b64, mime }) => {
        const g = globalThis as unknown as {
          DataTransfer: new () => { items: { add(file: unknown): void } };
          ClipboardEvent: new (type: string, init: Record<string, unknown>) => unknown;
          dispatchEvent(e: unknown): boolean;
        };
        const bin = atob(b64);
        const bytes = new Uint8Array(bin.length);
        for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
        const dt = new g.DataTransfer();
        dt.items.add(new File([bytes], 'image.png', { type: mime }));
        g.dispatchEvent(new g.ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
      },
      { b64, mime },
    );
  }
  /** The file picker ("Add photos…"). */
  async pickFiles(paths: string[]): Promise<void> {
    await this.page.getByTestId('file-input').setInputFiles(paths);
  }
  get rejectedFiles(): Locator {
    return this.page.getByTestId('rejected-files');
  }

  // --- images ------------------------------------------------------------------------------------------
  get workingGroup(): Locator {
    return this.page.getByTestId('group-working');
  }
  otherGroup(patientName: string): Locator {
    return this.page.getByTestId('group-other').filter({ has: this.page.getByRole('heading', { name: `Belongs to ${patientName}` }) });
  }
  cards(scope: Locator = this.page.locator('body')): Locator {
    return scope.getByTestId('image-card');
  }
  card(label: string, scope: Locator = this.page.locator('body')): Locator {
    return this.cards(scope).filter({ has: this.page.locator('.image-label', { hasText: label }) });
  }
  badge(card: Locator): Locator {
    return card.locator('.badge');
  }
  async imageIds(scope: Locator): Promise<string[]> {
    return scope.getByTestId('image-card').evaluateAll((els) => els.map((e) => e.getAttribute('data-image-id') ?? ''));
  }
  async expectAllBadges(scope: Locator, text: BadgeText, count: number, timeout = 30_000): Promise<void> {
    await expect(this.cards(scope)).toHaveCount(count, { timeout });
    for (const c of await this.cards(scope).all()) await expect(this.badge(c)).toHaveText(new RegExp(text), { timeout });
  }

  async selectAll(): Promise<void> {
    await this.page.locator('body').click({ position: { x: 5, y: 300 } });
    await this.page.keyboard.press('Control+a');
  }
  async selectCard(card: Locator, modifiers: ('Control' | 'Shift')[] = []): Promise<void> {
    await card.locator('.image-select').click({ modifiers });
  }
  /** The card's main button (the one the arrow keys move between). */
  cardButton(card: Locator): Locator {
    return card.locator('.image-select');
  }
  /** Index (in `scope`'s cards) of the card holding the keyboard focus, or -1. */
  async focusedCardIndex(scope: Locator): Promise<number> {
    return scope.getByTestId('image-card').evaluateAll((els) => els.findIndex((e) => e.contains(e.ownerDocument.activeElement)));
  }
  /** How many cards sit in one row of `scope`'s grid, measured from the layout. */
  async cardsPerRow(scope: Locator): Promise<number> {
    const tops = await scope.getByTestId('image-card').evaluateAll((els) => els.map((e) => (e as unknown as { offsetTop: number }).offsetTop));
    return tops.filter((t) => t === tops[0]).length;
  }

  // --- details -----------------------------------------------------------------------------------------
  get bodySite(): Locator {
    return this.page.getByRole('combobox', { name: /Body site/ });
  }
  async chooseBodySite(query: string): Promise<void> {
    await this.bodySite.click();
    await this.bodySite.fill(query);
    await this.page.getByRole('option').first().click();
  }
  async chooseSide(side: 'Left' | 'Right' | 'Both sides'): Promise<void> {
    await this.page.getByRole('radio', { name: side }).check({ force: true });
  }
  async applyToSelected(): Promise<void> {
    await this.page.getByRole('button', { name: /^Apply to selected/ }).click();
  }
  async applyToAll(): Promise<void> {
    await this.page.getByRole('button', { name: /^Apply to all/ }).click();
  }

  // --- commit ------------------------------------------------------------------------------------------
  get commitButton(): Locator {
    return this.page.getByTestId('commit-open');
  }
  get dialog(): Locator {
    return this.page.getByRole('dialog');
  }
  async send(targets: { media: boolean; inboxScan: boolean }, captionStrip = true): Promise<void> {
    const d = this.dialog;
    await d.getByRole('checkbox', { name: /Photo \(Media\)/ }).setChecked(targets.media);
    await d.getByRole('checkbox', { name: /Inbox Scan/ }).setChecked(targets.inboxScan);
    await d.getByRole('checkbox', { name: /caption strip/ }).setChecked(captionStrip);
    await d.getByTestId('commit-send').click();
  }
  async closeDialog(): Promise<void> {
    await this.page.keyboard.press('Escape');
    await expect(this.dialog).toHaveCount(0);
  }

  // --- notices, outbox ---------------------------------------------------------------------------------
  notice(kind: string): Locator {
    return this.page.getByTestId(`notice-${kind}`);
  }
  async openOutbox(): Promise<Locator> {
    await this.page.getByTestId('open-outbox').click();
    return this.page.getByRole('dialog', { name: 'Outbox' });
  }

  get connectionBar(): Locator {
    return this.page.locator('.connection-bar');
  }
  get verifying(): Locator {
    return this.page.getByTestId('launch-verifying');
  }

  async screenshot(name: string): Promise<void> {
    await this.page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
  }
}
