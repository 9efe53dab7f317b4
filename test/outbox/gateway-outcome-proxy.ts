/**
 * outcomeProxy: a loopback HTTP stand-in placed between the companion and the REAL gateway, for end-to-end tests of
 * the companion's side of issue 25 while the gateway's own answers for it are not in this tree. Every request is
 * passed through unchanged (same Host, so device proofs stay valid) except, for the image ids a test scripts:
 *   'unknown'             answer ERR_ALEX_OUTCOME_UNKNOWN (Retry-After 2 s); nothing is passed on
 *   'lost'                pass the commit on (the resource IS created in the sandbox), then answer
 *                         ERR_COMMIT_UNCONFIRMED instead of the gateway's answer: "it is in Medtech, nobody knows"
 *   'never-arrived'       answer ERR_COMMIT_UNCONFIRMED; nothing is passed on: "it is not in Medtech"
 * and, for images it answered unconfirmed, POST /v1/commits/:imageId/confirm (answers the gateway's stored outcome
 * with `confirmedBy: 'person'`) and a commit with `resendAfterCheck: true` (passed on). Not the product's gateway.
 */
import { request as httpRequest, createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { AppError, type ErrorCode } from '../../shared/errors';
import type { CommitResponse } from '../../shared/contracts/gateway';

export type OutcomeStep = 'unknown' | 'lost' | 'never-arrived';

export interface OutcomeProxy {
  url: string;
  /** Steps per image id, consumed one per commit request (then requests pass through). */
  scripts: Map<string, OutcomeStep[]>;
  /** Every commit request seen: image id and whether it carried resendAfterCheck. */
  commits: { imageId: string; resendAfterCheck: boolean }[];
  confirms: string[];
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

function forward(target: URL, req: IncomingMessage, body: Buffer): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const out = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (res) => {
      void readBody(res).then((b) => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: b }), reject);
    });
    out.on('error', reject);
    out.end(body);
  });
}

function sendError(res: ServerResponse, code: ErrorCode, retryAfterSeconds?: number): void {
  const e = new AppError(code, { correlationId: 'outcome-proxy', retryAfterSeconds });
  res.writeHead(e.status, { 'content-type': 'application/json', ...(retryAfterSeconds === undefined ? {} : { 'retry-after': String(retryAfterSeconds) }) });
  res.end(JSON.stringify({ error: e.toBody() }));
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(value));
}

export async function startOutcomeProxy(gatewayUrl: string): Promise<OutcomeProxy> {
  const target = new URL(gatewayUrl);
  /** Images answered unconfirmed: the gateway's real answer when the commit was passed on ('lost'). */
  const unconfirmed = new Map<string, CommitResponse | null>();
  const p: OutcomeProxy = { url: '', scripts: new Map(), commits: [], confirms: [], close: async () => undefined };

  async function onCommit(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    const parsed = JSON.parse(body.toString('utf8')) as { imageId?: string; resendAfterCheck?: boolean };
    const imageId = String(parsed.imageId ?? '');
    p.commits.push({ imageId, resendAfterCheck: parsed.resendAfterCheck === true });
    if (parsed.resendAfterCheck === true) unconfirmed.delete(imageId);
    const step = p.scripts.get(imageId)?.shift();
    if (step === 'unknown') return sendError(res, 'ERR_ALEX_OUTCOME_UNKNOWN', 2);
    if (step === 'never-arrived') {
      unconfirmed.set(imageId, null);
      return sendError(res, 'ERR_COMMIT_UNCONFIRMED');
    }
    const answer = await forward(target, req, body);
    if (step === 'lost' && answer.status >= 200 && answer.status < 300) {
      unconfirmed.set(imageId, JSON.parse(answer.body.toString('utf8')) as CommitResponse);
      return sendError(res, 'ERR_COMMIT_UNCONFIRMED');
    }
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
  }

  function onConfirm(res: ServerResponse, imageId: string): void {
    if (!unconfirmed.has(imageId)) return sendError(res, 'ERR_NOT_FOUND');
    p.confirms.push(imageId);
    const real = unconfirmed.get(imageId);
    const answer: CommitResponse = { imageId, committedAt: real?.committedAt ?? new Date().toISOString(), correlationId: 'outcome-proxy', replayed: false, confirmedBy: 'person' };
    sendJson(res, 200, answer);
  }

  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const path = (req.url ?? '').split('?')[0] ?? '';
      const confirm = /^\/v1\/commits\/([0-9a-f-]{36})\/confirm$/.exec(path);
      if (req.method === 'POST' && confirm) return onConfirm(res, confirm[1] ?? '');
      if (req.method === 'POST' && path === '/v1/commits') return onCommit(req, res, body);
      const answer = await forward(target, req, body);
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body);
    })().catch(() => {
      res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  p.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  p.close = () => new Promise((resolve) => server.close(() => resolve()));
  return p;
}
