import { describe, expect, it } from 'vitest';
import { ScreenKeeper, type WakeLockLike } from './wake';

const flush = () => new Promise((r) => setTimeout(r, 0));

function wakeLockStandIn() {
  const log: string[] = [];
  let refuse = false;
  const api: WakeLockLike = {
    request: async () => {
      if (refuse) throw new Error('NotAllowedError');
      log.push('request');
      return { release: async () => void log.push('release') };
    },
  };
  return { api, log, refuseNext: () => (refuse = true) };
}

describe('ScreenKeeper', () => {
  it('holds the screen on while sending and lets go when done', async () => {
    const w = wakeLockStandIn();
    const k = new ScreenKeeper(w.api);
    k.busy(true);
    k.busy(true); // once only
    await flush();
    expect(k.held).toBe(true);
    k.busy(false);
    await flush();
    expect(w.log).toEqual(['request', 'release']);
    expect(k.held).toBe(false);
  });

  it('asks again when the page comes back while still sending', async () => {
    const w = wakeLockStandIn();
    const k = new ScreenKeeper(w.api);
    k.busy(true);
    await flush();
    k.visible();
    await flush();
    expect(w.log).toEqual(['request', 'request']);
  });

  it('without the API (plain http on the LAN) or when refused, nothing breaks', async () => {
    const k = new ScreenKeeper(undefined);
    k.busy(true);
    await flush();
    expect(k.held).toBe(false);
    const w = wakeLockStandIn();
    w.refuseNext();
    const k2 = new ScreenKeeper(w.api);
    k2.busy(true);
    await flush();
    expect(k2.held).toBe(false);
  });
});
