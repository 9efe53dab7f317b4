/** The Electron shell, glue only (README.md); everything is injected so it is unit-tested with a mocked electron. */
import { join, normalize, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as Electron from 'electron';
import type { Logger } from 'pino';
import type { RunningCompanion, StartCompanionOptions } from '../core/compose';
import type { AdvertiseOptions, Advertisement } from '../discovery/advertiser';
import type { SettingsStore } from '../core/settings';
import { LAUNCH_SCHEME, launchUrlFromArgv } from '../launch/parse';
import type { LoopbackLaunchOptions, LoopbackLaunchServer } from '../loopback/server';
import type { SecretStore } from '../secrets';
import { forwardBridgeEvents, registerBridgeIpc } from './ipc';
import { APP_HOST, APP_ORIGIN, APP_SCHEME, SECURE_WEB_PREFERENCES, denyAllPermissions, installContentSecurityPolicy, installNavigationGuards } from './security';

export type ElectronModule = Pick<typeof Electron, 'app' | 'BrowserWindow' | 'ipcMain' | 'protocol' | 'session' | 'net' | 'Tray' | 'Menu' | 'nativeImage'>;

export interface ShellDeps {
  electron: ElectronModule;
  logger: Logger;
  /** dist/renderer (desktop/, mobile/, assets/). */
  rendererDir: string;
  preloadPath: string;
  iconPath?: string;
  argv: readonly string[];
  execPath: string;
  startCompanion: (options: StartCompanionOptions) => Promise<RunningCompanion>;
  startLoopback: (options: LoopbackLaunchOptions) => Promise<LoopbackLaunchServer>;
  secrets: () => SecretStore;
  settingsStore: () => SettingsStore;
  /** Fixed ports (the Evolution URL template and the firewall rule name them). */
  launchPort: number;
  lanPort: number;
  lanHost: () => string | undefined;
  /** Development: a fresh install points at the local gateway. */
  devGatewayUrl?: string;
  advertise?: (options: AdvertiseOptions) => Advertisement;
  deviceShortId?: string;
}

export interface Shell {
  quit(): Promise<void>;
}

/** Resolve an app:// request to a file inside rendererDir, or null (traversal, other host). */
export function resolveRendererFile(rendererDir: string, requestUrl: string): string | null {
  let pathname: string;
  try {
    const url = new URL(requestUrl);
    if (url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST) return null;
    pathname = decodeURIComponent(url.pathname);
  } catch {
    return null;
  }
  const root = normalize(rendererDir) + sep;
  const rel = pathname === '/' ? 'desktop/index.html' : pathname.replace(/^\/+/, '');
  const file = normalize(join(root, rel));
  return file.startsWith(root) ? file : null;
}

interface ShellState {
  win: Electron.BrowserWindow | null;
  companion: RunningCompanion | null;
  quitting: boolean;
  readonly pending: string[];
}

interface Launcher {
  focus(): void;
  launch(url: string): Promise<void>;
  launchFromArgv(argv: readonly string[]): void;
}

/** Bring the window forward and hand launches to the core (held until the core runs). */
function createLauncher(app: ElectronModule['app'], state: ShellState, log: Logger): Launcher {
  const focus = (): void => {
    const win = state.win;
    if (!win) return;
    if (win.isMinimized()) win.restore();
    win.show();
    win.focus();
    app.focus({ steal: true });
  };
  const launch = async (url: string): Promise<void> => {
    focus();
    if (state.companion) await state.companion.core['launch.open']({ url });
    else state.pending.push(url);
  };
  const launchFromArgv = (argv: readonly string[]): void => {
    const found = launchUrlFromArgv(argv);
    if (!found.found) return;
    if (!found.result.ok) {
      log.warn({ reason: found.result.reason }, 'launch argument refused');
      return;
    }
    // Hand the raw argument on: the core parses it again (its one strict parser) before anything else reads it.
    const sepAt = argv.indexOf('--');
    const raw = argv[sepAt + 1];
    if (raw !== undefined) launch(raw).catch(() => log.warn('launch could not be handed to the core'));
  };
  return { focus, launch, launchFromArgv };
}

function wireAppEvents(app: ElectronModule['app'], launcher: Launcher, log: Logger): void {
  app.on('second-instance', (_event, argv) => {
    launcher.focus();
    launcher.launchFromArgv(argv);
  });
  app.on('open-url', (event, url) => {
    event.preventDefault();
    launcher.launch(url).catch(() => log.warn('launch could not be handed to the core'));
  });
  app.on('web-contents-created', (_event, contents) => installNavigationGuards(contents));
  app.on('window-all-closed', () => undefined); // stay in the tray: the outbox keeps sending, phones can still upload
}

function serveRenderer(electron: ElectronModule, rendererDir: string): void {
  electron.protocol.handle(APP_SCHEME, (request) => {
    const file = resolveRendererFile(rendererDir, request.url);
    if (!file) return new Response('Not found', { status: 404 });
    return electron.net.fetch(pathToFileURL(file).toString());
  });
  installContentSecurityPolicy(electron.session.defaultSession);
  denyAllPermissions(electron.session.defaultSession);
}

function startCore(deps: ShellDeps, loopbackPort: number): Promise<RunningCompanion> {
  const { app } = deps.electron;
  return deps.startCompanion({
    dataDir: app.getPath('userData'),
    secrets: deps.secrets(),
    settingsStore: deps.settingsStore(),
    logger: deps.logger,
    loopbackLaunchPort: loopbackPort,
    appVersion: app.getVersion(),
    platform: process.platform,
    lan: { bindHost: deps.lanHost() ?? '127.0.0.1', port: deps.lanPort, mobileAssetsDir: join(deps.rendererDir, 'mobile') },
  });
}

async function useDevGateway(core: RunningCompanion['core'], gatewayUrl: string | undefined): Promise<void> {
  if (!gatewayUrl) return;
  const state = await core['app.getState']({});
  if (!state.enrolment.enrolled) await core['settings.set']({ patch: { gatewayUrl } });
}

/** Only when the LAN server listens on the practice network (never on loopback). */
async function advertiseLan(deps: ShellDeps, companion: RunningCompanion): Promise<Advertisement | null> {
  const lanAt = companion.lanAddress;
  if (!deps.advertise || !deps.deviceShortId || !lanAt || lanAt.host === '127.0.0.1') return null;
  const settings = await companion.core['settings.get']({});
  return deps.advertise({ port: lanAt.port, roomLabel: settings.roomLabel, deviceShortId: deps.deviceShortId, interfaceAddress: lanAt.host, logger: deps.logger });
}

/** The one secure window; closing it hides it to the tray unless the app is quitting. */
async function openWindow(deps: ShellDeps, state: ShellState): Promise<void> {
  const win = new deps.electron.BrowserWindow({
    width: 1280,
    height: 860,
    minWidth: 900,
    minHeight: 600,
    show: false,
    title: 'ClinicPro Images',
    backgroundColor: '#f6f8fa',
    ...(deps.iconPath ? { icon: deps.iconPath } : {}),
    webPreferences: { ...SECURE_WEB_PREFERENCES, preload: deps.preloadPath },
  });
  state.win = win;
  win.on('close', (event) => {
    if (!state.quitting) {
      event.preventDefault();
      state.win?.hide();
    }
  });
  win.once('ready-to-show', () => state.win?.show());
  await win.loadURL(`${APP_ORIGIN}/desktop/index.html`);
}

function addTray(electron: ElectronModule, iconPath: string, focus: () => void, quit: () => Promise<void>): void {
  const { Tray, Menu, nativeImage } = electron;
  const tray = new Tray(nativeImage.createFromPath(iconPath));
  tray.setToolTip('ClinicPro Images');
  tray.setContextMenu(
    Menu.buildFromTemplate([
      { label: 'Show ClinicPro Images', click: () => focus() },
      { type: 'separator' },
      { label: 'Quit', click: () => void quit() },
    ]),
  );
  tray.on('click', () => focus());
}

export async function startShell(deps: ShellDeps): Promise<Shell | null> {
  const { app, protocol, ipcMain } = deps.electron;
  const log = deps.logger;

  protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);
  app.enableSandbox();
  if (!app.requestSingleInstanceLock()) {
    // Another instance runs: it receives our argv through 'second-instance' and takes focus.
    app.quit();
    return null;
  }
  // `"<exe>" [<app path>] -- "%1"`: the `--` ends Chromium's switch parsing, so nothing in the URL is a switch (CVE-2018-1000006).
  app.setAsDefaultProtocolClient(LAUNCH_SCHEME, deps.execPath, app.isPackaged ? ['--'] : [app.getAppPath(), '--']);

  const state: ShellState = { win: null, companion: null, quitting: false, pending: [] };
  const launcher = createLauncher(app, state, log);
  wireAppEvents(app, launcher, log);
  await app.whenReady();
  serveRenderer(deps.electron, deps.rendererDir);

  const loopback = await deps.startLoopback({ port: deps.launchPort, logger: log.child({ component: 'loopback-launch' }), onLaunch: (url) => launcher.launch(url) });
  const companion = await startCore(deps, loopback.port);
  state.companion = companion;
  await useDevGateway(companion.core, deps.devGatewayUrl);
  const advertisement = await advertiseLan(deps, companion);
  registerBridgeIpc(ipcMain, companion.core, log);
  forwardBridgeEvents(companion.core, () => state.win?.webContents ?? null);
  await openWindow(deps, state);

  const shell: Shell = {
    async quit() {
      state.quitting = true;
      await advertisement?.stop().catch(() => undefined);
      await loopback.close().catch(() => undefined);
      await state.companion?.close().catch(() => undefined);
      app.quit();
    },
  };
  if (deps.iconPath) addTray(deps.electron, deps.iconPath, launcher.focus, () => shell.quit());
  app.on('before-quit', () => {
    state.quitting = true;
  });

  launcher.launchFromArgv(deps.argv);
  for (const url of state.pending.splice(0)) await launcher.launch(url);
  return shell;
}
