/** Exposes `window.clinicpro` (README.md): named bridge methods and subscriptions, never ipcRenderer itself. */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { bridgeChannel, bridgeEventChannel, createBridgeClient, type BridgeEnvelope, type CompanionApi } from '../../shared/contracts/bridge';

export const api: CompanionApi = createBridgeClient(
  (method, arg) => ipcRenderer.invoke(bridgeChannel(method), arg) as Promise<BridgeEnvelope>,
  (event, listener) => {
    const handler = (_e: IpcRendererEvent, payload: unknown): void => listener(payload);
    ipcRenderer.on(bridgeEventChannel(event), handler);
    return () => {
      ipcRenderer.removeListener(bridgeEventChannel(event), handler);
    };
  },
);

contextBridge.exposeInMainWorld('clinicpro', api);
