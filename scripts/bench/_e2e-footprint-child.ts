/**
 * The companion core alone in its own process, as the Electron main process holds it on a practice PC (the
 * gateway and the ALEX sandbox run in the benchmark's process). Bundled with esbuild like the app and run with
 * plain Node; driven over IPC by _e2e-footprint.ts.
 *
 * Messages in:  { op: 'launch', url } | { op: 'phone' } | { op: 'watch-timers' } | { op: 'timers' }
 *               | { op: 'commit-all', expect } (Send once `expect` photos are ready; answers when all are sent) | { op: 'reset-peak' } | { op: 'close' }
 * Messages out: { op: 'ready', uptimeMs } and one answer per message in, with the same op.
 */
import { createHook } from 'node:async_hooks';
import { mkdtemp } from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { AppState } from '../../shared/contracts/bridge';
import { startCompanion } from '../../electron/core';
import { MemorySecretStore } from '../../electron/secrets';
import { DevFileSettingsStore } from '../browser-host/dev-stores';

type In =
  | { op: 'launch'; url: string }
  | { op: 'phone' }
  | { op: 'watch-timers' }
  | { op: 'timers' }
  | { op: 'commit-all'; expect: number }
  | { op: 'reset-peak' }
  | { op: 'close' };

const send = (m: Record<string, unknown>): void => {
  process.send?.(m);
};

/** Counts timer callbacks per timer while watching: a timer that fires more than once a second shows. */
function timerWatch(): { start(): void; report(seconds: number): { firings: number; busiest: number } } {
  const kinds = new Map<number, string>();
  const fired = new Map<number, number>();
  let on = false;
  const hook = createHook({
    init(id, type) {
      if (type === 'Timeout' || type === 'Immediate') kinds.set(id, type);
    },
    before(id) {
      if (on && kinds.has(id)) fired.set(id, (fired.get(id) ?? 0) + 1);
    },
    destroy(id) {
      kinds.delete(id);
    },
  });
  return {
    start() {
      fired.clear();
      hook.enable();
      on = true;
    },
    report(seconds) {
      on = false;
      hook.disable();
      const counts = [...fired.values()];
      return { firings: counts.reduce((a, b) => a + b, 0) / seconds, busiest: Math.max(0, ...counts) / seconds };
    },
  };
}

async function main(): Promise<void> {
  const [gatewayUrl, enrolmentCode] = process.argv.slice(2);
  if (!gatewayUrl || !enrolmentCode) throw new Error('usage: child <gatewayUrl> <enrolmentCode>');
  const dataDir = await mkdtemp(join(tmpdir(), 'cpi-bench-companion-'));
  const companion = await startCompanion({
    dataDir,
    secrets: new MemorySecretStore(),
    settingsStore: new DevFileSettingsStore(join(dataDir, 'settings.json')),
    logger: pino({ level: 'silent' }),
    lan: { bindHost: '127.0.0.1', port: 0 },
  });
  const { core } = companion;
  await core['settings.set']({ patch: { gatewayUrl } });
  await core['enrolment.enrol']({ gatewayUrl, enrolmentCode, deviceName: 'Bench PC' });
  send({ op: 'ready', uptimeMs: performance.now() });

  // The benchmark owns this process: when it goes, so does this one.
  process.on('disconnect', () => process.exit(0));
  const timers = timerWatch();
  let watchStart = 0;
  process.on('message', (raw: In) => {
    void (async () => {
      switch (raw.op) {
        case 'launch':
          await core['launch.open']({ url: raw.url });
          return send({ op: 'launch' });
        case 'phone':
          return send({ op: 'phone', qrUrl: (await core['phone.start']({})).qrUrl });
        case 'watch-timers':
          watchStart = performance.now();
          timers.start();
          return send({ op: 'watch-timers' });
        case 'timers':
          return send({ op: 'timers', ...timers.report((performance.now() - watchStart) / 1000) });
        case 'reset-peak':
          writeFileSync('/proc/self/clear_refs', '5');
          return send({ op: 'reset-peak' });
        case 'commit-all':
          await commitAll(core, raw.expect);
          return send({ op: 'commit-all' });
        case 'close':
          await companion.close();
          send({ op: 'close' });
          process.exit(0);
      }
    })().catch((err: unknown) => send({ op: 'error', message: err instanceof Error ? err.message : String(err) }));
  });
}

/**
 * The GP presses Send once the `expect` photos are all on screen (a commit ends the phone session, so not before),
 * Media + Inbox Scan; resolves once Medtech accepted them all ("Sent"; the read-back waits on ALEX's search lag).
 */
function commitAll(core: Awaited<ReturnType<typeof startCompanion>>['core'], expect: number): Promise<void> {
  let sent = false;
  return new Promise((resolve) => {
    const check = (s: AppState): void => {
      const ready = s.images.filter((i) => i.status === 'ready').map((i) => i.id);
      if (!sent && ready.length >= expect) {
        sent = true;
        void core['commit.start']({ ids: ready, targets: { media: true, inboxScan: true }, captionStrip: false });
      }
      if (s.images.filter((i) => i.committed !== undefined).length >= expect) {
        off();
        resolve();
      }
    };
    const off = core.on('state', check);
    void core['app.getState']({}).then(check);
  });
}

main().catch((err: unknown) => {
  send({ op: 'error', message: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
