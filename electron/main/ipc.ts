/**
 * The ONE place IPC handlers are registered: every bridge method from shared/contracts/bridge.ts gets a
 * handler that first checks the sender frame is our own renderer (app://renderer, top frame), then
 * validates the argument against the contract, then runs the core. Events go to the window only.
 * Nothing else in electron/main may call `ipcMain.handle` (a test counts).
 */
import type { IpcMain, IpcMainInvokeEvent, WebContents } from 'electron';
import {
  BRIDGE_EVENTS,
  BRIDGE_METHODS,
  bridgeChannel,
  bridgeEventChannel,
  dispatchBridgeCall,
  type BridgeEnvelope,
  type BridgeEventName,
  type BridgeEvents,
  type BridgeHandlers,
  type Unsubscribe,
} from '../../shared/contracts/bridge';
import { AppError } from '../../shared/errors/app-error';
import { isAppUrl } from './security';

export interface BridgeCoreLike extends BridgeHandlers {
  on<E extends BridgeEventName>(event: E, listener: (payload: BridgeEvents[E]) => void): Unsubscribe;
}

export interface IpcLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** The sender is our renderer's top frame, loaded from the app origin. */
export function isTrustedSender(event: Pick<IpcMainInvokeEvent, 'senderFrame'>): boolean {
  const frame = event.senderFrame;
  if (!frame) return false;
  if (frame.parent !== null) return false;
  return isAppUrl(frame.url);
}

export function registerBridgeIpc(ipcMain: IpcMain, core: BridgeCoreLike, logger: IpcLogger): () => void {
  for (const method of BRIDGE_METHODS) {
    ipcMain.handle(bridgeChannel(method), async (event, arg: unknown): Promise<BridgeEnvelope> => {
      if (!isTrustedSender(event)) {
        logger.warn({ method }, 'IPC call refused: untrusted sender frame');
        return { ok: false, error: new AppError('ERR_REQUEST_INVALID', { detail: 'untrusted sender' }).toBody() };
      }
      return dispatchBridgeCall(core, method, arg, () => logger.error({ method }, 'bridge call failed unexpectedly'));
    });
  }
  return () => {
    for (const method of BRIDGE_METHODS) ipcMain.removeHandler(bridgeChannel(method));
  };
}

/** Forward every core event to the window (and nowhere else). */
export function forwardBridgeEvents(core: BridgeCoreLike, target: () => WebContents | null): () => void {
  const offs = BRIDGE_EVENTS.map((event) =>
    core.on(event, (payload) => {
      const wc = target();
      if (wc && !wc.isDestroyed()) wc.send(bridgeEventChannel(event), payload);
    }),
  );
  return () => offs.forEach((off) => off());
}
