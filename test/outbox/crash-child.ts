/**
 * The process crash.test.ts kills. It opens the outbox in <work>/outbox, enqueues the images listed in
 * <work>/todo.json (read from files under <work>/src) and sends everything to the gateway at <url>,
 * printing one line per fact the parent needs:
 *   ACK <imageId>        enqueue() resolved: the image is durable (printed synchronously: stdout is a pipe)
 *   SENDING <imageId> / COMMITTED <imageId> / WAITING <imageId> <code> / FAILED <imageId> <code>
 *   STALE <n>            temp files found in payloads/ before the outbox opened (left by a kill mid-write)
 *   DONE                 nothing left to send
 * Usage: node --import tsx test/outbox/crash-child.ts <work> <gatewayUrl>  (the test runs an esbuild bundle of it)
 */
import { readFileSync, readdirSync, writeFileSync, renameSync, openSync, fsyncSync, closeSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import type { PatientSummary } from '../../shared/contracts/common';
import { createGatewayClient } from '../../electron/gateway-client/client';
import { openOutbox } from '../../electron/outbox/outbox';
import type { OutboxItemInput } from '../../electron/outbox/types';
import type { SecretStore } from '../../electron/secrets';

export interface CrashSpec {
  imageId: string;
  patient: PatientSummary;
  grantId: string;
  facilityId: string;
  mediaFile: string;
  documentFile?: string;
}

/** A file-backed SecretStore for this crash test only (the product uses the OS credential store). */
class FileSecretStoreForCrashTest implements SecretStore {
  constructor(private readonly file: string) {}
  private read(): Record<string, string> {
    return existsSync(this.file) ? (JSON.parse(readFileSync(this.file, 'utf8')) as Record<string, string>) : {};
  }
  private write(v: Record<string, string>): void {
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(v));
    const fd = openSync(tmp, 'r');
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, this.file);
  }
  async get(a: string): Promise<string | null> {
    return this.read()[a] ?? null;
  }
  async set(a: string, value: string): Promise<void> {
    this.write({ ...this.read(), [a]: value });
  }
  async delete(a: string): Promise<boolean> {
    const v = this.read();
    const had = a in v;
    delete v[a];
    this.write(v);
    return had;
  }
}

const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

async function main(): Promise<void> {
  const [work, url] = process.argv.slice(2);
  if (!work || !url) throw new Error('usage: crash-child <work> <gatewayUrl>');
  const creds = JSON.parse(readFileSync(join(work, 'device.json'), 'utf8')) as { deviceId: string; deviceSecret: string };
  const todo = JSON.parse(readFileSync(join(work, 'todo.json'), 'utf8')) as CrashSpec[];
  const payloads = join(work, 'outbox', 'payloads');
  say(`STALE ${existsSync(payloads) ? readdirSync(payloads).filter((n) => n.startsWith('.tmp-')).length : 0}`);

  const logger = pino({ level: 'info' }, pino.destination({ dest: join(work, 'child.log'), append: true, sync: true }));
  const gateway = createGatewayClient({ baseUrl: url, credentials: async () => creds, timeoutMs: 10_000, logger });
  const outbox = await openOutbox({
    dir: join(work, 'outbox'),
    secrets: new FileSecretStoreForCrashTest(join(work, 'secrets.json')),
    gateway,
    logger,
    concurrency: 2,
    backoff: { baseMs: 20, maxMs: 200 },
  });
  outbox.on('item-sending', (v) => say(`SENDING ${v.imageId}`));
  outbox.on('item-committed', (v) => say(`COMMITTED ${v.imageId}`));
  outbox.on('item-waiting', (v) => say(`WAITING ${v.imageId} ${v.lastError?.code ?? ''}`));
  outbox.on('item-failed', (v) => say(`FAILED ${v.imageId} ${v.lastError?.code ?? ''}`));
  outbox.start();

  for (const spec of todo) {
    const item: OutboxItemInput = {
      imageId: spec.imageId,
      patient: spec.patient,
      grantId: spec.grantId,
      facilityId: spec.facilityId,
      capturedAt: '2026-11-23T09:00:00+13:00',
      metadata: { bodySiteCode: '89545001', laterality: 'left', view: 'close-up', imageType: 'lesion' },
      targets: spec.documentFile ? ['media', 'documentReference'] : ['media'],
      media: { contentType: 'image/jpeg', file: spec.mediaFile },
    };
    if (spec.documentFile) item.document = { contentType: 'image/tiff', file: spec.documentFile };
    await outbox.enqueue(item);
    say(`ACK ${spec.imageId}`);
  }

  for (;;) {
    await outbox.idle();
    const p = outbox.progress();
    if (p.queued + p.sending + p.waiting === 0) break;
    await new Promise((r) => setTimeout(r, 25));
    outbox.kick();
  }
  await outbox.close();
  say('DONE');
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`crash-child failed: ${err instanceof Error ? `${err.name} ${(err as { code?: string }).code ?? ''}` : 'error'}\n`);
  process.exit(2);
});
