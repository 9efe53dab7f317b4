/**
 * The `clinicpro-images://` protocol client registration. Windows starts the app as
 * `"<exe>" [<app path>] -- "%1"`: the `--` ends Chromium's switch parsing, so nothing inside the URL
 * (e.g. `" --gpu-launcher=…`) can be read as a command-line switch (CVE-2018-1000006 class).
 */
import type { App } from 'electron';
import { LAUNCH_SCHEME } from '../launch/parse';

export const SCHEME_PATTERN = /^[a-z][a-z0-9+.-]*$/;

export interface ProtocolRegistration {
  scheme: string;
  executable: string;
  args: string[];
}

/** What to register: packaged → the exe alone; development → electron + the app path. Always ends with `--`. */
export function protocolRegistration(opts: { isPackaged: boolean; execPath: string; appPath: string }): ProtocolRegistration {
  if (!SCHEME_PATTERN.test(LAUNCH_SCHEME)) throw new Error('invalid launch scheme');
  return {
    scheme: LAUNCH_SCHEME,
    executable: opts.execPath,
    args: opts.isPackaged ? ['--'] : [opts.appPath, '--'],
  };
}

export function registerProtocolClient(app: Pick<App, 'setAsDefaultProtocolClient' | 'isPackaged' | 'getAppPath'>, execPath: string): boolean {
  const r = protocolRegistration({ isPackaged: app.isPackaged, execPath, appPath: app.getAppPath() });
  return app.setAsDefaultProtocolClient(r.scheme, r.executable, r.args);
}
