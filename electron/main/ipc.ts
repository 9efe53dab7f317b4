/** The ONE place IPC handlers are registered (a test counts): sender frame checked, argument validated, then the core. */
import type { IpcMain, IpcMainInvokeEvent, WebContents } from 'electron';
import {
  BRIDGE_EVENTS,
  BRIDGE_METHODS,
  bridgeChannel,
  bridgeEventChannel,
  dispatchBridgeCall,
  type BridgeEnvelope,
  type BridgeHandlers,
  type CompanionApi,
} from '../../shared/contracts/bridge';
import { AppError } from '../../shared/errors/app-error';
import type { Logger } from 'pino';
import { isAppUrl } from './security';

export type BridgeCoreLike = BridgeHandlers & Pick<CompanionApi, 'on'>;

/** Our renderer's top frame, loaded from the app origin. */
export function isTrustedSender(event: Pick<IpcMainInvokeEvent, 'senderFrame'>): boolean {
  const frame = event.senderFrame;
  return !!frame && frame.parent === null && isAppUrl(frame.url);
}

export function registerBridgeIpc(ipcMain: IpcMain, core: BridgeCoreLike, logger: Pick<Logger, 'warn' | 'error'>): void {
  for (const method of BRIDGE_METHODS) {
    ipcMain.handle(bridgeChannel(method), async (event, arg: unknown): Promise<BridgeEnvelope> => {
      if (!isTrustedSender(event)) {
        logger.warn({ method }, 'IPC call refused: untrusted sender frame');
        return { ok: false, error: new AppError('ERR_REQUEST_INVALID', { detail: 'untrusted sender' }).toBody() };
      }
      return dispatchBridgeCall(core, method, arg, () => logger.error({ method }, 'bridge call failed unexpectedly'));
    });
  }
}

/** To the window and nowhere else. */
export function forwardBridgeEvents(core: BridgeCoreLike, target: () => WebContents | null): void {
  for (const event of BRIDGE_EVENTS) {
    core.on(event, (payload) => {
      const wc = target();
      if (wc && !wc.isDestroyed()) wc.send(bridgeEventChannel(event), payload);
    });
  }
}
