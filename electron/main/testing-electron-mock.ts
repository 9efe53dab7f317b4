/**
 * A MOCK of the Electron main-process API, for unit tests only: the Electron binary cannot run in CI.
 * It records what the shell asks of Electron (windows, handlers, protocol registration, events) so the
 * tests can check the shell's decisions. It implements only what electron/main uses.
 */
import { EventEmitter } from 'node:events';
import { vi } from 'vitest';

type Handler = (event: unknown, ...args: unknown[]) => unknown;

export class MockWebContents extends EventEmitter {
  windowOpenHandler: ((details: { url: string }) => { action: string }) | null = null;
  sent: Array<{ channel: string; payload: unknown }> = [];
  setWindowOpenHandler(h: (details: { url: string }) => { action: string }): void {
    this.windowOpenHandler = h;
  }
  send(channel: string, payload: unknown): void {
    this.sent.push({ channel, payload });
  }
  isDestroyed(): boolean {
    return false;
  }
}

export class MockBrowserWindow extends EventEmitter {
  static instances: MockBrowserWindow[] = [];
  webContents = new MockWebContents();
  loaded: string | null = null;
  focused = 0;
  shown = 0;
  constructor(public readonly options: Record<string, unknown>) {
    super();
    MockBrowserWindow.instances.push(this);
  }
  async loadURL(url: string): Promise<void> {
    this.loaded = url;
  }
  isMinimized(): boolean {
    return false;
  }
  restore(): void {}
  show(): void {
    this.shown++;
  }
  hide(): void {}
  focus(): void {
    this.focused++;
  }
}

export function mockElectronForTests(options: { lock?: boolean; isPackaged?: boolean } = {}) {
  const appEvents = new EventEmitter();
  const handlers = new Map<string, Handler>();
  const onHeadersReceived: Array<(details: { responseHeaders: Record<string, string[]> }, cb: (r: { responseHeaders: Record<string, string[]> }) => void) => void> = [];
  const app = Object.assign(appEvents, {
    isPackaged: options.isPackaged ?? false,
    requestSingleInstanceLock: vi.fn(() => options.lock ?? true),
    quit: vi.fn(),
    exit: vi.fn(),
    focus: vi.fn(),
    enableSandbox: vi.fn(),
    whenReady: vi.fn(async () => undefined),
    setAsDefaultProtocolClient: vi.fn(() => true),
    getAppPath: vi.fn(() => '/opt/clinicpro/app'),
    getPath: vi.fn(() => '/tmp/clinicpro-userdata'),
    getVersion: vi.fn(() => '0.1.0'),
  });
  const electron = {
    app,
    BrowserWindow: MockBrowserWindow,
    ipcMain: {
      handle: vi.fn((channel: string, h: Handler) => void handlers.set(channel, h)),
      on: vi.fn(),
    },
    protocol: { registerSchemesAsPrivileged: vi.fn(), handle: vi.fn() },
    session: {
      defaultSession: {
        webRequest: { onHeadersReceived: vi.fn((cb: (typeof onHeadersReceived)[number]) => void onHeadersReceived.push(cb)) },
        setPermissionRequestHandler: vi.fn(),
        setPermissionCheckHandler: vi.fn(),
      },
    },
    net: { fetch: vi.fn() },
    Tray: vi.fn(() => ({ setToolTip: vi.fn(), setContextMenu: vi.fn(), on: vi.fn() })),
    Menu: { buildFromTemplate: vi.fn(() => ({})) },
    nativeImage: { createFromPath: vi.fn(() => ({})) },
    shell: { openExternal: vi.fn(), openPath: vi.fn() },
  };
  return { electron, handlers, onHeadersReceived };
}
