/**
 * The Electron shell's decisions, with a MOCKED electron (the binary cannot run here): single instance,
 * launch forwarding, protocol registration, secure window, CSP, navigation guards and IPC checks.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { BRIDGE_METHODS, bridgeChannel, type BridgeEnvelope } from '../../shared/contracts/bridge';
import type { StartCompanionOptions } from '../core/compose';
import { MemorySecretStore } from '../secrets';
import { MemorySettingsStore } from '../core/test-support';
import { isTrustedSender, registerBridgeIpc, type BridgeCoreLike } from './ipc';
import { CONTENT_SECURITY_POLICY, SECURE_WEB_PREFERENCES, installContentSecurityPolicy, installNavigationGuards } from './security';
import { resolveRendererFile, startShell, type ElectronModule, type ShellDeps } from './shell';
import { MockBrowserWindow, MockWebContents, mockElectronForTests } from './testing-electron-mock';

const silent = pino({ level: 'silent' });

function fakeCore() {
  const calls: Array<{ method: string; arg: unknown }> = [];
  const core = new Proxy(
    {},
    {
      get(_t, prop: string) {
        if (prop === 'on') return () => () => undefined;
        if (prop === 'close') return async () => undefined;
        return async (arg: unknown) => {
          calls.push({ method: prop, arg });
          if (prop === 'app.getState') return { enrolment: { enrolled: true } };
        if (prop === 'settings.get') return { roomLabel: 'Room 3' };
          return { status: 'verifying' };
        };
      },
    },
  ) as BridgeCoreLike & { close(): Promise<void> };
  return { core, calls };
}

function deps(electron: ReturnType<typeof mockElectronForTests>['electron'], argv: string[] = ['ClinicPro Images.exe']) {
  const { core, calls } = fakeCore();
  const startCompanion = vi.fn(async (_o: StartCompanionOptions) => ({ core, lanAddress: { host: '192.168.1.20', port: 47800 }, close: async () => undefined }) as never);
  const d: ShellDeps = {
    electron: electron as unknown as ElectronModule,
    logger: silent,
    rendererDir: '/opt/clinicpro/dist/renderer',
    preloadPath: '/opt/clinicpro/dist/electron/preload.cjs',
    argv,
    execPath: 'C:\\Program Files\\ClinicPro Images\\ClinicPro Images.exe',
    startCompanion,
    startLoopback: vi.fn(async () => ({ port: 47900, launchTemplate: '', close: async () => undefined })),
    secrets: () => new MemorySecretStore(),
    settingsStore: () => new MemorySettingsStore(),
    launchPort: 47900,
    lanPort: 47800,
    lanHost: () => '192.168.1.20',
  };
  return { d, calls, startCompanion };
}

const LAUNCH = 'clinicpro-images://launch?context=abc%2B%2F%3D&signature=def';

beforeEach(() => {
  MockBrowserWindow.instances = [];
});

describe('single instance and launch forwarding', () => {
  it('a second instance quits at once and starts nothing', async () => {
    const { electron } = mockElectronForTests({ lock: false });
    const { d, startCompanion } = deps(electron);
    expect(await startShell(d)).toBeNull();
    expect(electron.app.quit).toHaveBeenCalled();
    expect(startCompanion).not.toHaveBeenCalled();
    expect(MockBrowserWindow.instances).toHaveLength(0);
  });

  it('the running instance takes a launch URL from a second launch, focuses, and hands it to the core', async () => {
    const { electron } = mockElectronForTests();
    const { d, calls } = deps(electron);
    await startShell(d);
    const win = MockBrowserWindow.instances[0]!;
    const focusedBefore = win.focused;
    electron.app.emit('second-instance', {}, ['ClinicPro Images.exe', '--', LAUNCH], '/');
    await vi.waitFor(() => expect(calls.some((c) => c.method === 'launch.open')).toBe(true));
    expect(calls.find((c) => c.method === 'launch.open')?.arg).toEqual({ url: LAUNCH });
    expect(win.focused).toBeGreaterThan(focusedBefore);
    expect(electron.app.focus).toHaveBeenCalledWith({ steal: true });
  });

  it('takes the launch URL of the first start too, and refuses smuggled switches', async () => {
    const { electron } = mockElectronForTests();
    const first = deps(electron, ['ClinicPro Images.exe', '--', LAUNCH]);
    await startShell(first.d);
    expect(first.calls.filter((c) => c.method === 'launch.open')).toEqual([{ method: 'launch.open', arg: { url: LAUNCH } }]);

    const { electron: e2 } = mockElectronForTests();
    const second = deps(e2);
    await startShell(second.d);
    for (const argv of [
      ['x.exe', LAUNCH],
      ['x.exe', '--gpu-launcher=calc.exe', '--', LAUNCH, '--no-sandbox'],
      ['x.exe', '--', `${LAUNCH}" --gpu-launcher="calc.exe`],
    ]) {
      e2.app.emit('second-instance', {}, argv, '/');
    }
    await new Promise((r) => setTimeout(r, 20));
    expect(second.calls.filter((c) => c.method === 'launch.open')).toEqual([]);
  });
});

describe('LAN discovery', () => {
  it('advertises the LAN server with the room label on the LAN address, and stops on quit', async () => {
    const { electron } = mockElectronForTests();
    const { d } = deps(electron);
    const stop = vi.fn(async () => undefined);
    const advertise = vi.fn(() => ({ name: 'x', stop }));
    const shell = await startShell({ ...d, advertise, deviceShortId: 'ab12cd34' });
    expect(advertise).toHaveBeenCalledWith(expect.objectContaining({ port: 47800, roomLabel: 'Room 3', deviceShortId: 'ab12cd34', interfaceAddress: '192.168.1.20' }));
    await shell?.quit();
    expect(stop).toHaveBeenCalled();
  });
});

describe('protocol registration', () => {
  it('the shell registers clinicpro-images with "--" last: the exe alone when packaged', async () => {
    const { electron } = mockElectronForTests({ isPackaged: true });
    await startShell(deps(electron).d);
    expect(electron.app.setAsDefaultProtocolClient).toHaveBeenCalledWith('clinicpro-images', 'C:\\Program Files\\ClinicPro Images\\ClinicPro Images.exe', ['--']);
    // An RFC 3986 scheme: Windows and macOS register nothing else.
    expect(electron.app.setAsDefaultProtocolClient).toHaveBeenCalledWith(expect.stringMatching(/^[a-z][a-z0-9+.-]*$/), expect.any(String), expect.any(Array));
  });

  it('in development: electron with the app path, then "--"', async () => {
    const { electron } = mockElectronForTests({ isPackaged: false });
    await startShell(deps(electron).d);
    expect(electron.app.setAsDefaultProtocolClient).toHaveBeenCalledWith('clinicpro-images', 'C:\\Program Files\\ClinicPro Images\\ClinicPro Images.exe', ['/opt/clinicpro/app', '--']);
  });
});

describe('window security', () => {
  it('creates the window with the secure webPreferences and loads only the app origin', async () => {
    const { electron } = mockElectronForTests();
    await startShell(deps(electron).d);
    const win = MockBrowserWindow.instances[0]!;
    const prefs = win.options.webPreferences as Record<string, unknown>;
    expect(prefs).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true, webviewTag: false });
    expect(prefs.preload).toBe('/opt/clinicpro/dist/electron/preload.cjs');
    expect(win.loaded).toBe('app://renderer/desktop/index.html');
    expect(electron.app.enableSandbox).toHaveBeenCalled();
    expect(SECURE_WEB_PREFERENCES.nodeIntegrationInSubFrames).toBe(false);
  });

  it('sets a strict CSP on every response', () => {
    const { electron, onHeadersReceived } = mockElectronForTests();
    installContentSecurityPolicy(electron.session.defaultSession as never);
    let headers: Record<string, string[]> = {};
    onHeadersReceived[0]!({ responseHeaders: { 'content-type': ['text/html'] } }, (r) => (headers = r.responseHeaders));
    expect(headers['Content-Security-Policy']).toEqual([CONTENT_SECURITY_POLICY]);
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'none'");
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-(inline|eval)/);
  });

  it('denies navigation, new windows and webviews for 25 hostile URLs, and never opens anything externally', () => {
    const { electron } = mockElectronForTests();
    const wc = new MockWebContents();
    installNavigationGuards(wc as never);
    const hostile = [
      'javascript:alert(1)',
      'file:///C:/Windows/System32/calc.exe',
      'data:text/html,<script>alert(1)</script>',
      'https://evil.example',
      'https://ok.com.attacker.com',
      'sgnl://signal',
      'http://127.0.0.1:8080/',
      'app://evil/desktop/index.html',
      'app://renderer.evil/',
      'app://user:pass@renderer/',
      'APP://RENDERER@evil/',
      'ms-msdt:/id PCWDiagnostic',
      'search-ms:query=calc',
      'vbscript:msgbox(1)',
      'about:blank',
      'chrome://settings',
      'devtools://devtools/bundled/inspector.html',
      'blob:https://evil.example/uuid',
      'ftp://evil.example/x',
      'smb://evil.example/share',
      '\\\\evil\\share\\x.exe',
      'https://renderer/',
      'view-source:app://renderer/',
      'clinicpro-images://launch?context=a&signature=b',
      'mailto:x@evil.example',
    ];
    expect(hostile).toHaveLength(25);
    let prevented = 0;
    let windows = 0;
    for (const url of hostile) {
      const event = { preventDefault: () => prevented++ };
      wc.emit('will-navigate', event, url);
      wc.emit('will-redirect', event, url);
      if (wc.windowOpenHandler?.({ url }).action !== 'deny') windows++;
    }
    expect(prevented).toBe(50);
    expect(windows).toBe(0);
    expect(electron.shell.openExternal).not.toHaveBeenCalled();
    const allowed = { preventDefault: vi.fn() };
    wc.emit('will-navigate', allowed, 'app://renderer/desktop/index.html');
    expect(allowed.preventDefault).not.toHaveBeenCalled();
  });

  it('serves renderer files only from inside the build folder', () => {
    const root = '/opt/clinicpro/dist/renderer';
    expect(resolveRendererFile(root, 'app://renderer/')).toBe(`${root}/desktop/index.html`);
    expect(resolveRendererFile(root, 'app://renderer/assets/a.js')).toBe(`${root}/assets/a.js`);
    expect(resolveRendererFile(root, 'app://renderer/..%2F..%2Fsecrets.json')).toBeNull();
    // Dot segments are resolved by the URL parser: whatever comes back stays inside the build folder.
    for (const u of ['app://renderer/%2e%2e/%2e%2e/x', 'app://renderer/../../etc/passwd', 'app://renderer/a/%2E%2E/%2E%2E/%2E%2E/b']) {
      const file = resolveRendererFile(root, u);
      expect(file === null || file.startsWith(`${root}/`)).toBe(true);
    }
    expect(resolveRendererFile(root, 'app://other/desktop/index.html')).toBeNull();
    expect(resolveRendererFile(root, 'not a url')).toBeNull();
  });
});

describe('IPC', () => {
  const frame = (url: string, parent: unknown = null) => ({ senderFrame: { url, parent } });

  function setup() {
    const { electron, handlers } = mockElectronForTests();
    const { core, calls } = fakeCore();
    registerBridgeIpc(electron.ipcMain as never, core, silent);
    return { handlers, calls };
  }

  it('registers one handler per contract method, through the one helper', () => {
    const { handlers } = setup();
    expect([...handlers.keys()].sort()).toEqual(BRIDGE_METHODS.map(bridgeChannel).sort());
    // No other module of the shell registers IPC handlers directly.
    const dir = new URL('.', import.meta.url).pathname;
    const raw = readdirSync(dir)
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.startsWith('testing-'))
      .filter((f) => /ipcMain\.(handle|on)\(/.test(readFileSync(join(dir, f), 'utf8')));
    expect(raw).toEqual(['ipc.ts']);
  });

  it('refuses calls from a foreign or nested frame without reaching the core', async () => {
    const { handlers, calls } = setup();
    const h = handlers.get(bridgeChannel('app.getState'))!;
    for (const event of [frame('https://evil.example/'), frame('app://renderer/desktop/index.html', {}), frame('file:///C:/x.html'), { senderFrame: null }]) {
      const res = (await h(event, {})) as BridgeEnvelope;
      expect(res).toMatchObject({ ok: false, error: { code: 'ERR_REQUEST_INVALID' } });
    }
    expect(calls).toEqual([]);
    expect(isTrustedSender(frame('app://renderer/desktop/index.html') as never)).toBe(true);
  });

  it('refuses bad arguments and passes good ones', async () => {
    const { handlers, calls } = setup();
    const ok = frame('app://renderer/desktop/index.html');
    const bad = (await handlers.get(bridgeChannel('launch.open'))!(ok, { url: 42 })) as BridgeEnvelope;
    expect(bad).toMatchObject({ ok: false, error: { code: 'ERR_REQUEST_INVALID' } });
    const extra = (await handlers.get(bridgeChannel('phone.start'))!(ok, { sneaky: true })) as BridgeEnvelope;
    expect(extra.ok).toBe(false);
    expect(calls).toEqual([]);
    const good = (await handlers.get(bridgeChannel('launch.open'))!(ok, { url: LAUNCH })) as BridgeEnvelope;
    expect(good.ok).toBe(true);
    expect(calls).toEqual([{ method: 'launch.open', arg: { url: LAUNCH } }]);
  });

  it('the find-by-NHI methods go through the same sender check and contract validation', async () => {
    const { handlers, calls } = setup();
    const ok = frame('app://renderer/desktop/index.html');
    for (const m of ['patient.lookup', 'patient.confirm', 'patient.cancelLookup'] as const) expect(handlers.has(bridgeChannel(m))).toBe(true);
    // A foreign frame cannot confirm a patient, however well-formed the call.
    const foreign = (await handlers.get(bridgeChannel('patient.confirm'))!(frame('https://evil.example/'), { lookupId: 'lk_0123456789abcdef' })) as BridgeEnvelope;
    expect(foreign).toMatchObject({ ok: false, error: { code: 'ERR_REQUEST_INVALID', detail: 'untrusted sender' } });
    const nested = (await handlers.get(bridgeChannel('patient.lookup'))!(frame('app://renderer/desktop/index.html', {}), { nhi: 'ZZZ0016' })) as BridgeEnvelope;
    expect(nested.ok).toBe(false);
    // Bad arguments never reach the core: no grant or patient can be smuggled in, ids are shaped.
    for (const [m, arg] of [
      ['patient.lookup', { nhi: 'ZZZ0016', patientId: 'p-1' }],
      ['patient.lookup', { nhi: 'Z'.repeat(40) }],
      ['patient.confirm', { lookupId: '../../x' }],
      ['patient.confirm', { lookupId: 'lk_0123456789abcdef', grantId: 'g' }],
      ['patient.cancelLookup', { lookupId: 'lk_0123456789abcdef' }],
    ] as const) {
      const res = (await handlers.get(bridgeChannel(m))!(ok, arg)) as BridgeEnvelope;
      expect(res, m).toMatchObject({ ok: false, error: { code: 'ERR_REQUEST_INVALID' } });
    }
    expect(calls).toEqual([]);
    await handlers.get(bridgeChannel('patient.lookup'))!(ok, { nhi: 'zzz0016' });
    await handlers.get(bridgeChannel('patient.confirm'))!(ok, { lookupId: 'lk_0123456789abcdef' });
    await handlers.get(bridgeChannel('patient.cancelLookup'))!(ok, undefined);
    expect(calls).toEqual([
      { method: 'patient.lookup', arg: { nhi: 'zzz0016' } },
      { method: 'patient.confirm', arg: { lookupId: 'lk_0123456789abcdef' } },
      { method: 'patient.cancelLookup', arg: {} },
    ]);
  });
});
