/**
 * Test support for the LAN server (used by the *.test.ts files here and by cross-folder tests): a temporary
 * folder, a hand-driven clock, a recording sink that stores files the way the core does, a multipart
 * body builder and a plain node:http client that can set any Host/Origin header. Not used by product code.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { createLanServer, type LanIncomingFile, type LanServer, type LanServerOptions, type LanUploadSink } from './server';

export class ManualClock {
  constructor(public ms = Date.UTC(2026, 0, 5, 9, 0, 0)) {}
  readonly now = (): number => this.ms;
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
}

/** A sink that behaves like the core: it writes the bytes it is handed into its own store before answering. */
export class RecordingSink implements LanUploadSink {
  readonly files: (LanIncomingFile & { stored: Buffer })[] = [];
  /** When set, the next onFile rejects with it (after the LAN server handed over the file). */
  failWith: Error | undefined;
  constructor(private readonly storeDir: string) {}
  async onFile(file: LanIncomingFile): Promise<{ imageId: string }> {
    if (this.failWith) {
      const err = this.failWith;
      this.failWith = undefined;
      throw err;
    }
    const imageId = randomUUID();
    const stored = file.data;
    const target = join(this.storeDir, `${imageId}.bin`);
    await writeFile(target, stored).catch(async (err: unknown) => {
      await rm(target, { force: true }); // as the core does: nothing half-stored
      throw err;
    });
    this.files.push({ ...file, stored });
    return { imageId };
  }
}

export interface Harness {
  server: LanServer;
  clock: ManualClock;
  sink: RecordingSink;
  root: string;
  logLines: string[];
  port: number;
  cleanup(): Promise<void>;
}

const STORE = 'store';

/** A LAN server on 127.0.0.1 with a random port, a manual clock and captured JSON logs. */
export async function startHarness(overrides: Partial<LanServerOptions> = {}, listen = true): Promise<Harness> {
  const root = await mkdtemp(join(tmpdir(), 'lan-test-'));
  const store = join(root, STORE);
  await mkdir(store, { recursive: true });
  const clock = new ManualClock();
  const sink = new RecordingSink(store);
  const logLines: string[] = [];
  const logger = pino(
    { level: 'trace' },
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        logLines.push(chunk.toString('utf8'));
        cb();
      },
    }),
  );
  const server = createLanServer({ bindHost: '127.0.0.1', port: 0, clock: clock.now, logger, sink, sweepIntervalMs: 0, ...overrides });
  let port = 0;
  if (listen) port = (await server.listen()).port;
  else await server.app.ready();
  return {
    server,
    clock,
    sink,
    root,
    logLines,
    port,
    async cleanup() {
      await server.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** Every file under `dir`, recursively (full paths). */
export async function filesUnder(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true });
    return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  } catch {
    return [];
  }
}

export const tokenFromUrl = (url: string): string => {
  const token = new URL(url).hash.replace(/^#t=/, '');
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) throw new Error('no token in QR URL');
  return token;
};

export type Part =
  | { name: string; value: string }
  | { name: string; filename: string; contentType?: string; data: Buffer; extraHeaders?: string[] };

export const BOUNDARY = '----clinicproTestBoundary7MA4YWxkTrZu0gW';

/** A multipart/form-data body, parts in the given order. */
export function multipartBody(parts: Part[], boundary = BOUNDARY): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    if ('value' in part) {
      chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"\r\n\r\n${part.value}\r\n`));
    } else {
      const extra = (part.extraHeaders ?? []).map((h) => `${h}\r\n`).join('');
      chunks.push(
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"; filename="${part.filename}"\r\nContent-Type: ${part.contentType ?? 'application/octet-stream'}\r\n${extra}\r\n`,
        ),
        part.data,
        Buffer.from('\r\n'),
      );
    }
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

/** A small but real JPEG header followed by filler bytes: enough for the LAN server, which sniffs and streams. */
export function fakeJpeg(size: number, fill = 0x42): Buffer {
  const buf = Buffer.alloc(size, fill);
  Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01]).copy(buf);
  return buf;
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: unknown;
}

/** One HTTP/1.1 request over a real socket to 127.0.0.1 with exactly the headers given (Host included). */
export function httpRequest(opts: { port: number; method?: string; path: string; headers?: Record<string, string>; body?: Buffer | string }): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: opts.port, method: opts.method ?? 'GET', path: opts.path, headers: { host: `127.0.0.1:${opts.port}`, ...opts.headers }, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Open a session and exchange its QR token for a phone credential over the real socket. */
export async function joinPhone(h: Harness, sessionId?: string): Promise<{ sessionId: string; credential: string; phoneId: string; url: string }> {
  let id = sessionId;
  let url: string;
  if (id === undefined) {
    const opened = await h.server.openSession({ sessionRef: 'cap-1', patient: { displayName: 'Canary Testpatient', birthDate: '1970-01-02' }, roomLabel: 'Room 3' });
    id = opened.sessionId;
    url = opened.qr.url;
  } else {
    url = (await h.server.rotateQr(id)).url;
  }
  const res = await exchange(h.port, tokenFromUrl(url));
  if (res.status !== 200) throw new Error(`exchange failed: ${res.status} ${res.text}`);
  const body = res.json as { credential: string; phoneId: string };
  return { sessionId: id, credential: body.credential, phoneId: body.phoneId, url };
}

export function exchange(port: number, token: string, headers: Record<string, string> = {}): Promise<HttpResult> {
  return httpRequest({ port, method: 'POST', path: '/api/images/v1/session/exchange', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ token }) });
}

export function upload(port: number, credential: string | undefined, parts: Part[], headers: Record<string, string> = {}): Promise<HttpResult> {
  const auth: Record<string, string> = credential === undefined ? {} : { authorization: `Bearer ${credential}` };
  return httpRequest({
    port,
    method: 'POST',
    path: '/api/images/v1/upload',
    headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, ...auth, ...headers },
    body: multipartBody(parts),
  });
}

export const errorCode = (r: HttpResult): string | undefined => (r.json as { error?: { code?: string } } | undefined)?.error?.code;

/** The phone holds photos for its session's patient (`hold`), or lets go of held ones it will not send (`release`). */
function photosRequest(action: 'hold' | 'release', port: number, credential: string, clientUploadIds: string[]): Promise<HttpResult> {
  return httpRequest({
    port,
    method: 'POST',
    path: `/api/images/v1/photos/${action}`,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${credential}` },
    body: JSON.stringify({ clientUploadIds }),
  });
}

export const hold = (port: number, credential: string, clientUploadIds: string[]): Promise<HttpResult> => photosRequest('hold', port, credential, clientUploadIds);
export const release = (port: number, credential: string, clientUploadIds: string[]): Promise<HttpResult> => photosRequest('release', port, credential, clientUploadIds);
