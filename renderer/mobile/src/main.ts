import { createHttpTransport } from './api';
import { PhoneApp } from './app';

const root = document.getElementById('app');
if (root !== null) {
  const setTimer = (fn: () => void, ms: number): unknown => window.setTimeout(fn, ms);
  const clearTimer = (handle: unknown): void => window.clearTimeout(handle as number);
  new PhoneApp({
    root,
    transport: createHttpTransport({ setTimer, clearTimer }),
    random: () => Math.random(),
    setTimer,
    clearTimer,
    win: window,
    doc: document,
  }).start();
}
