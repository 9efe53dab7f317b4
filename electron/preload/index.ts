/**
 * The preload (sandboxed, context-isolated): exposes the companion API as `window.clinicpro` — named
 * methods generated from shared/contracts/bridge.ts over ipcRenderer.invoke, and event subscriptions that
 * return an unsubscribe function. No generic invoke, no ipcRenderer, no Node objects reach the page.
 */
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
