/** `"<exe>" [<app path>] -- "%1"`: the `--` ends Chromium's switch parsing, so nothing in the URL is a switch (CVE-2018-1000006). */
import type { App } from 'electron';
import { LAUNCH_SCHEME } from '../launch/parse';

export const SCHEME_PATTERN = /^[a-z][a-z0-9+.-]*$/;

/** Packaged → the exe alone; development → electron + the app path. Always ends with `--`. */
export function protocolRegistration(opts: { isPackaged: boolean; execPath: string; appPath: string }): { scheme: string; executable: string; args: string[] } {
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
