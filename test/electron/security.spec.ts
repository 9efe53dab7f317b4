/**
 * Security settings that only a real Electron can show in effect (electron/main/security.ts sets them; the unit
 * tests check the settings against a mocked electron): an isolated, sandboxed renderer without Node; navigation,
 * window.open and <webview> refused; a launch argument taken only as the one strict link after `--`.
 * Every URL tried here is loopback or local: the guards refuse before any request would be sent.
 */
import { expect, test } from '@playwright/test';
import { DesktopPage } from '../e2e/pages/desktop-page';
import { AROHA, enrolThroughUi, startApp, WIREMU, type RunningApp } from './app';

let running: RunningApp;
test.beforeEach(async () => {
  running = await startApp();
});
test.afterEach(async () => {
  await running.close();
});

test('the window runs isolated and sandboxed, without Node, with web security on', async () => {
  // Electron's own record of the preferences the window was made with (not in its public types, so looked up).
  const prefs = await running.app.evaluate(({ BrowserWindow }) => {
    const wc = BrowserWindow.getAllWindows()[0]?.webContents as unknown as { getLastWebPreferences?: () => Record<string, unknown> } | undefined;
    const p = wc?.getLastWebPreferences?.();
    return p ? { contextIsolation: p.contextIsolation, sandbox: p.sandbox, nodeIntegration: p.nodeIntegration, webSecurity: p.webSecurity, webviewTag: p.webviewTag } : null;
  });
  expect(prefs, 'this Electron no longer reports getLastWebPreferences: check the behaviour below only').toEqual({
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    webSecurity: true,
    webviewTag: false,
  });
  // Windows and macOS report the renderer's OS-level sandbox.
  const sandboxed = await running.app.evaluate(({ app }) => app.getAppMetrics().filter((m) => m.type === 'Tab').map((m) => m.sandboxed));
  for (const s of sandboxed) if (s !== undefined) expect(s).toBe(true);

  const seen = await running.window.evaluate(() => {
    const g = globalThis as Record<string, unknown>;
    return { require: typeof g.require, process: typeof g.process, module: typeof g.module, bridge: typeof g.clinicpro };
  });
  // Only the typed bridge crosses from the preload; no Node in the page.
  expect(seen).toEqual({ require: 'undefined', process: 'undefined', module: 'undefined', bridge: 'object' });
  expect(running.window.url()).toMatch(/^app:\/\/renderer\//);
  // The page cannot reach the gateway itself (web security and the CSP): only the main process talks to it.
  const direct = await running.window.evaluate(async (url) => {
    try {
      await fetch(url);
      return 'reached';
    } catch {
      return 'blocked';
    }
  }, `${running.stack.gatewayUrl}/healthz`);
  expect(direct).toBe('blocked');
});

test('navigation, window.open and <webview> are refused: one window, same page, no new web contents', async () => {
  const { app, window } = running;
  // Count the navigations main is asked for (the guard refuses them), to know each attempt was decided.
  await app.evaluate(({ BrowserWindow }) => {
    const wc = BrowserWindow.getAllWindows()[0]?.webContents;
    const g = globalThis as { __navAsked?: string[] };
    g.__navAsked = [];
    wc?.on('will-navigate', (_e, url) => g.__navAsked?.push(url));
  });
  const contentsBefore = await app.evaluate(({ webContents }) => webContents.getAllWebContents().length);
  await window.evaluate(() => {
    (globalThis as { __marker?: number }).__marker = 42;
  });
  const targets = ['http://127.0.0.1:9/elsewhere', 'file:///etc/hosts', 'data:text/html,<h1>x</h1>'];
  for (const url of targets) {
    await window.evaluate((u) => {
      (globalThis as unknown as { location: { href: string } }).location.href = u;
    }, url);
  }
  await expect.poll(() => app.evaluate(() => (globalThis as { __navAsked?: string[] }).__navAsked?.length ?? 0)).toBeGreaterThanOrEqual(1);
  expect(await window.evaluate(() => (globalThis as { __marker?: number }).__marker)).toBe(42);
  expect(window.url()).toMatch(/^app:\/\/renderer\//);

  const opened = await window.evaluate(() => (globalThis as unknown as { open(u: string): unknown }).open('http://127.0.0.1:9/popup') === null);
  expect(opened).toBe(true);
  const webviewApi = await window.evaluate(() => {
    const doc = (globalThis as unknown as { document: { createElement(t: string): Record<string, unknown> & { setAttribute(k: string, v: string): void }; body: { appendChild(n: unknown): void } } }).document;
    const wv = doc.createElement('webview');
    wv.setAttribute('src', 'http://127.0.0.1:9/webview');
    doc.body.appendChild(wv);
    return typeof wv.getWebContentsId;
  });
  expect(webviewApi).toBe('undefined');
  expect(app.windows()).toHaveLength(1);
  expect(await app.evaluate(({ webContents }) => webContents.getAllWebContents().length)).toBe(contentsBefore);
});

test('a second launch hands over only the one strict link after "--"; hostile arguments change nothing', async () => {
  const desktop = new DesktopPage(running.window);
  await enrolThroughUi(running);
  await expect(desktop.noPatient).toBeVisible();
  const good = running.stack.launchUrlFor(AROHA.nhi);
  // Switch injection after the link, a link with a quote-broken argument, and a link that is not ours.
  for (const hostile of [[good, '--gpu-launcher=calc'], [`${good}" --inspect="1`], ['https://127.0.0.1:9/launch?context=a&signature=b']]) {
    expect(await running.secondLaunch(hostile)).toBe(0);
  }
  expect(running.app.windows()).toHaveLength(1);
  // A valid launch after them is the first that shows a patient.
  expect(await running.secondLaunch([running.stack.launchUrlFor(WIREMU.nhi)])).toBe(0);
  await expect(desktop.banner).toContainText(WIREMU.name);
  await expect(desktop.launchError).toHaveCount(0);
});
