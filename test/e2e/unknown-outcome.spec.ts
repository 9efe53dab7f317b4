/**
 * Issue 25, the desktop's side: an image whose outcome at Medtech nobody has proven. The real renderer in Debian's
 * Chromium, the real companion core over the browser host, the real gateway and ALEX sandbox on loopback.
 *   - The gateway's own answers for this (ERR_ALEX_OUTCOME_UNKNOWN, ERR_COMMIT_UNCONFIRMED, the confirm route) are
 *     scripted by `outcomeProxy` (test/outbox/gateway-outcome-proxy.ts), which sits between the companion and the
 *     real gateway and passes everything else through: what the desktop shows, and what reaches the sandbox.
 *   - The acceptance case with the sandbox's slow-create fault runs against the gateway alone, once the gateway
 *     answers that contract (it has the confirm route); until then it is skipped with the reason.
 * Never "failed" for an image that may be in Medtech; it ends "in Medtech ✓" or "not yet confirmed"; the sandbox
 * holds exactly one resource per image.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, type Locator } from '@playwright/test';
import { startOutcomeProxy, type OutcomeProxy, type OutcomeStep } from '../outbox/gateway-outcome-proxy';
import { AROHA, launch, test } from './desktop-fixtures';
import type { DesktopPage } from './pages/desktop-page';
import type { DevStack } from '../../scripts/browser-host/stack';
import { FAULT_KINDS, type FaultRule } from '../../gateway/src/sandbox/types';

const PHOTO = 'photo-01.png';

/** Launch for Aroha, add the photo, tag it, send it as Media; answers its card and image id. */
async function sendOnePhoto(desktop: DesktopPage, stack: DevStack, photos: string[], before?: (imageId: string) => void): Promise<{ card: Locator; id: string }> {
  await launch(stack, AROHA.nhi);
  await expect(desktop.banner).toContainText(AROHA.name);
  await desktop.pickFiles(photos);
  await desktop.expectAllBadges(desktop.workingGroup, 'Needs info', 1);
  const [id] = await desktop.imageIds(desktop.workingGroup);
  if (id === undefined) throw new Error('no card');
  before?.(id);
  await desktop.selectAll();
  await desktop.chooseBodySite('forea');
  await desktop.chooseSide('Left');
  await desktop.applyToAll();
  await desktop.expectAllBadges(desktop.workingGroup, 'Ready', 1);
  await desktop.commitButton.click();
  await desktop.send({ media: true, inboxScan: false }, false);
  await desktop.closeDialog();
  return { card: desktop.card(PHOTO), id };
}

/** Every status the card shows until it reaches one of `ends` (polled; the statuses seen are returned). */
async function statusesUntil(card: Locator, ends: RegExp, timeout: number): Promise<Set<string>> {
  const seen = new Set<string>();
  await expect
    .poll(
      async () => {
        const s = (await card.getAttribute('data-status')) ?? 'gone';
        seen.add(s);
        return s;
      },
      { timeout, intervals: [200] },
    )
    .toMatch(ends);
  return seen;
}

const mediaFor = (stack: DevStack, id: string) => stack.sandbox.store.listMedia().filter((m) => m.identifier.value === id);

async function filesOf(dir: string, id: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { recursive: true })) if (e.includes(id)) out.push(e);
  return out;
}

test.describe('an image Medtech has not confirmed', () => {
  let proxy: OutcomeProxy | undefined;
  const through = async (stack: DevStack): Promise<OutcomeProxy> => {
    proxy = await startOutcomeProxy(stack.gatewayUrl);
    await stack.companion.core['settings.set']({ patch: { gatewayUrl: proxy.url } });
    return proxy;
  };
  test.afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });

  test('waiting for Medtech to confirm: says so with the next check, never "failed", then committed with one resource', async ({ desktop, stack, photos }) => {
    const p = await through(stack);
    const { card, id } = await sendOnePhoto(desktop, stack, photos, (imageId) => p.scripts.set(imageId, ['unknown', 'unknown'] satisfies OutcomeStep[]));
    await expect(card.getByTestId('medtech-waiting')).toHaveText(/^Sent to Medtech — waiting for Medtech to confirm \((next check in \d+ s|checking now)\)$/);
    await desktop.screenshot('unknown-01-waiting-for-medtech');
    const seen = await statusesUntil(card, /^committed$/, 60_000);
    expect(seen.has('failed')).toBe(false);
    // Committed ("in Medtech ✓" follows once Medtech's search shows it, which a strict sandbox delays).
    await expect(desktop.badge(card)).toHaveText(/Committed/);
    expect(mediaFor(stack, id)).toHaveLength(1);
    // Asked three times under the same image id; never flagged as a resend.
    expect(p.commits.filter((c) => c.imageId === id).map((c) => c.resendAfterCheck)).toEqual([false, false, false]);
  });

  test('not yet confirmed → "It is in Medtech": plain words in the card and Details, recorded at the gateway, committed, the copy wiped, one resource', async ({ desktop, stack, photos, dir }) => {
    const p = await through(stack);
    const { card, id } = await sendOnePhoto(desktop, stack, photos, (imageId) => p.scripts.set(imageId, ['lost']));
    const seen = await statusesUntil(card, /^unconfirmed$/, 60_000);
    expect(seen.has('failed')).toBe(false);
    await expect(desktop.badge(card)).toHaveText(/Not yet confirmed/);
    const words = card.getByTestId('medtech-unconfirmed');
    await expect(words).toContainText(`Sent to Medtech, not yet confirmed — look in ${AROHA.name}'s Inbox in Medtech for “${PHOTO}”`);
    await expect(words).toContainText('before sending again');
    await expect(card).not.toContainText(/failed/i);
    // The Details panel says the same, with the same two answers.
    await desktop.selectCard(card);
    const details = desktop.page.getByTestId('details-panel');
    await expect(details.getByTestId('medtech-unconfirmed')).toContainText('not yet confirmed');
    await expect(details.getByRole('button', { name: /is in Medtech/ })).toBeVisible();
    await expect(details.getByRole('button', { name: /^Send .* again$/ })).toBeVisible();
    await desktop.screenshot('unknown-02-not-yet-confirmed');
    // Nothing is sent again by itself.
    expect(p.commits.filter((c) => c.imageId === id)).toHaveLength(1);
    expect(mediaFor(stack, id)).toHaveLength(1); // it did reach Medtech

    await card.getByRole('button', { name: `${PHOTO} is in Medtech` }).click();
    await expect(card).toHaveAttribute('data-status', 'committed');
    await expect(card.getByText('in Medtech ✓ (checked by a person)')).toBeVisible();
    expect(p.confirms).toEqual([id]);
    expect(p.commits.filter((c) => c.imageId === id)).toHaveLength(1);
    expect(mediaFor(stack, id)).toHaveLength(1);
    await expect.poll(() => filesOf(join(dir, 'data', 'companion', 'images'), id)).toEqual([]);
    await desktop.screenshot('unknown-03-confirmed-by-person');
  });

  test('not yet confirmed → "Send again": the confirm step says what it risks; cancel sends nothing; confirmed, sent once with the check, one resource', async ({ desktop, stack, photos }) => {
    const p = await through(stack);
    const { card, id } = await sendOnePhoto(desktop, stack, photos, (imageId) => p.scripts.set(imageId, ['never-arrived']));
    await statusesUntil(card, /^unconfirmed$/, 60_000);
    expect(mediaFor(stack, id)).toHaveLength(0);

    await card.getByRole('button', { name: `Send ${PHOTO} again` }).click();
    const ask = desktop.page.getByRole('dialog', { name: 'Send this photo again?' });
    await expect(ask).toContainText(`Only send “${PHOTO}” again if you looked in ${AROHA.name}'s Inbox in Medtech and it is not there`);
    await expect(ask).toContainText('Medtech will have two copies');
    await desktop.screenshot('unknown-04-send-again-confirm');
    await ask.getByRole('button', { name: 'Cancel' }).click();
    await expect(ask).toHaveCount(0);
    await expect(card).toHaveAttribute('data-status', 'unconfirmed');
    expect(p.commits.filter((c) => c.imageId === id)).toHaveLength(1);

    await card.getByRole('button', { name: `Send ${PHOTO} again` }).click();
    await ask.getByRole('button', { name: 'Send again' }).click();
    const seen = await statusesUntil(card, /^committed$/, 60_000);
    expect(seen.has('failed')).toBe(false);
    expect(p.commits.filter((c) => c.imageId === id).map((c) => c.resendAfterCheck)).toEqual([false, true]);
    expect(mediaFor(stack, id)).toHaveLength(1);
    await expect(desktop.badge(card)).toHaveText(/Committed/);
  });

  test('a create that lands after the gateway stopped waiting (sandbox slow create, 25 s): never "failed", ends in Medtech ✓ or not yet confirmed, one resource', async ({ desktop, stack, photos }) => {
    // The gateway's side of this (answering ERR_ALEX_OUTCOME_UNKNOWN instead of creating again) is a separate change;
    // without its confirm route this gateway cannot pass, so the case waits for it.
    const probe = await fetch(`${stack.gatewayUrl}/v1/commits/00000000-0000-4000-8000-000000000000/confirm`, { method: 'POST' });
    test.skip(probe.status === 404, 'the gateway does not answer the unknown-outcome contract yet (no confirm route)');
    test.setTimeout(240_000);
    // The sandbox's slow-create fault where it has one (the create is stored 25 s after it arrived, past the
    // gateway's wait), else a 25 s latency before the create.
    const slow = (FAULT_KINDS as readonly string[]).includes('slowCreate');
    const rule = slow ? { kind: 'slowCreate', storeAfterMs: 25_000, method: 'POST', pathPrefix: '/FHIR/Media', times: 1 } : { kind: 'latency', latencyMs: 25_000, method: 'POST', pathPrefix: '/FHIR/Media', times: 1 };
    stack.sandbox.faults.add(rule as unknown as FaultRule);
    const { card, id } = await sendOnePhoto(desktop, stack, photos);
    const seen = await statusesUntil(card, /^(committed|unconfirmed)$/, 200_000);
    expect(seen.has('failed')).toBe(false);
    // Count once the slow create has been stored and every create that was answered has finished.
    const creates = () => stack.sandbox.store.requests().filter((r) => r.method === 'POST' && r.path === '/FHIR/Media');
    await expect.poll(() => mediaFor(stack, id).length, { timeout: 60_000 }).toBeGreaterThanOrEqual(1);
    if (!slow) await expect.poll(() => creates().every((r) => r.status !== null), { timeout: 60_000 }).toBe(true);
    expect(mediaFor(stack, id)).toHaveLength(1);
    if ((await card.getAttribute('data-status')) === 'committed') await expect(card.getByText(/in Medtech ✓/)).toBeVisible({ timeout: 30_000 });
    else await expect(card.getByTestId('medtech-unconfirmed')).toContainText('not yet confirmed');
  });
});
