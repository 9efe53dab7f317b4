/**
 * The process core-crash.test.ts kills: the real companion (startCompanion: imaging, sealed drafts, durable
 * outbox, gateway client) in <work>/data, talking to the real gateway at <gatewayUrl>. It enrols once (first
 * run), then for each entry of <work>/todo.json launches for that entry's patient (a fresh launch pair from the
 * sandbox, as Evolution would), adds the photo, tags it and commits it; images restored from an earlier run are
 * tagged and committed too. One line per fact the parent needs (stdout is a pipe, written synchronously):
 *   READY <n restored>       core started; n images came back from drafts
 *   KNOWN <imageId> <label>  an image the core holds (label = the source file name = the parent's key)
 *   ADDING <key> / ADDED <key> <imageId>   around images.addPaths (ADDED = acknowledged: the draft is durable)
 *   QUEUED <imageId>         commit.start accepted it (the outbox holds it durably)
 *   COMMITTED <imageId> / FAILED <imageId> <code>
 *   DONE                     every image committed
 * Usage: node <bundle> <work> <gatewayUrl> <sandboxUrl>
 */
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import type { AppState } from '../../shared/contracts/bridge';
import { startCompanion } from '../../electron/core';
import { DevFileSecretStoreForDevelopmentOnly, DevFileSettingsStore } from '../../scripts/browser-host/dev-stores';

export interface CoreCrashTodo {
  key: string;
  patientId: string;
  file: string;
}

const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

async function main(): Promise<void> {
  const [work, gatewayUrl, sandboxUrl] = process.argv.slice(2);
  if (!work || !gatewayUrl || !sandboxUrl) throw new Error('usage: core-crash-child <work> <gatewayUrl> <sandboxUrl>');
  const logger = pino({ level: 'trace' }, pino.destination({ dest: join(work, 'child.log'), append: true, sync: true }));
  const companion = await startCompanion({
    dataDir: join(work, 'data'),
    secrets: new DevFileSecretStoreForDevelopmentOnly(join(work, 'secrets.json')),
    settingsStore: new DevFileSettingsStore(join(work, 'settings.json')),
    logger,
    lan: false,
    verifyAfterCommit: false,
  });
  const { core } = companion;
  let state: AppState = await core['app.getState']({});
  if (!state.enrolment.enrolled) {
    const code = readFileSync(join(work, 'enrol-code.txt'), 'utf8').trim();
    await core['enrolment.enrol']({ gatewayUrl, enrolmentCode: code, deviceName: 'Crash room' });
    say('ENROLLED');
  }
  say(`READY ${state.images.length}`);
  const committed = new Set<string>();
  const report = (s: AppState): void => {
    for (const img of s.images) {
      if (img.status === 'committed' && !committed.has(img.id)) {
        committed.add(img.id);
        say(`COMMITTED ${img.id}`);
      }
    }
  };
  core.on('state', report);
  for (const img of state.images) say(`KNOWN ${img.id} ${img.label}`);

  const tagAndCommit = async (ids: string[]): Promise<void> => {
    if (ids.length === 0) return;
    await core['images.updateMetadata']({ ids, patch: { bodySiteCode: '89545001', laterality: 'left' } });
    const res = await core['commit.start']({ ids, targets: { media: true, inboxScan: false }, captionStrip: false });
    for (const id of res.queued) say(`QUEUED ${id}`);
  };
  // Restored images not yet handed to the outbox.
  await tagAndCommit(state.images.filter((i) => i.status === 'ready' || i.status === 'needs-info').map((i) => i.id));

  const todo = existsSync(join(work, 'todo.json')) ? (JSON.parse(readFileSync(join(work, 'todo.json'), 'utf8')) as CoreCrashTodo[]) : [];
  for (const t of todo) {
    const res = await fetch(`${sandboxUrl}/_sandbox/launch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ patientId: t.patientId, facilityCode: 'F2N060-E' }),
    });
    const pair = (await res.json()) as { context: string; signature: string };
    const url = `clinicpro-images://launch?context=${encodeURIComponent(pair.context)}&signature=${encodeURIComponent(pair.signature)}`;
    const launched = await core['launch.open']({ url });
    if (launched.status !== 'ready') throw new Error(`launch ${launched.status}`);
    say(`ADDING ${t.key}`);
    const added = await core['images.addPaths']({ paths: [t.file] });
    const id = added.imageIds[0];
    if (!id) throw new Error('photo refused');
    say(`ADDED ${t.key} ${id}`);
    await tagAndCommit([id]);
  }

  // Wait (bounded) until nothing is left to send.
  for (let i = 0; i < 3_000; i++) {
    await companion.outbox.idle();
    await core.idle();
    state = await core['app.getState']({});
    report(state);
    const open = state.images.filter((img) => img.status !== 'committed' && img.status !== 'failed');
    for (const img of state.images.filter((x) => x.status === 'failed')) say(`FAILED ${img.id} ${img.error?.code ?? ''}`);
    if (open.length === 0) break;
    await new Promise((r) => setTimeout(r, 20));
    companion.outbox.kick();
  }
  for (const img of state.images) say(`KNOWN ${img.id} ${img.label}`);
  await companion.close();
  say('DONE');
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`core-crash-child failed: ${err instanceof Error ? `${err.name} ${(err as { code?: string }).code ?? ''} ${err.message}` : 'error'}\n`);
  process.exit(2);
});
