/**
 * mockAlex: a scriptable ALEX stand-in on loopback (real Fastify, real sockets) for the ALEX client's
 * tests that need exact counts (token calls, attempts) and injected socket resets after a create was
 * stored. It is a test kit, not the product's ALEX sandbox (gateway/src/sandbox), which models ALEX
 * faithfully; the client is also tested against that sandbox (client.sandbox.test.ts).
 */
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { NHI_SYSTEM } from '../../../shared/nhi';

export type MockAlexAction =
  /** Answer this instead of handling the request. */
  | { kind: 'respond'; status: number; headers?: Record<string, string>; body?: unknown }
  /** Drop the connection without handling the request (ALEX never saw it). */
  | { kind: 'reset' }
  /** Handle the request (a create is stored), then drop the connection before answering. */
  | { kind: 'process-then-reset' }
  /** Handle the request (a create is stored), then answer this status instead of 201. */
  | { kind: 'process-then-status'; status: number }
  /** Never answer (the client's timeout fires). */
  | { kind: 'hang' }
  /** Handle the request (a create is stored), then never answer. */
  | { kind: 'process-then-hang' }
  /** Wait, then handle normally. */
  | { kind: 'delay'; ms: number };

export interface MockAlexRule {
  method?: string;
  /** Matches the path after the FHIR base, e.g. `/Media`, `/Patient/`. Absent: any. */
  pathPrefix?: string;
  facilityId?: string;
  /** Times to apply; absent = until cleared. */
  times?: number;
  action: MockAlexAction;
}

export interface MockAlexRequest {
  at: number;
  method: string;
  /** Path after the FHIR base, without query. */
  path: string;
  query: string;
  token: string | null;
  tokenExpired: boolean;
  tokenUnknown: boolean;
  facilityId: string | null;
  correlationId: string | null;
  contentType: string | null;
  accept: string | null;
}

export interface MockAlexTokenRequest {
  at: number;
  clientId: string;
  /** Which configured secret was sent: 'primary' | 'secondary' | 'wrong' (never the secret itself). */
  secret: 'primary' | 'secondary' | 'wrong';
  status: number;
}

export interface MockAlexOptions {
  clock: () => number;
  tokenLifetimeSeconds?: number;
  clientId?: string;
  /** Secrets the mock accepts. */
  acceptedSecrets?: string[];
  primarySecret?: string;
  secondarySecret?: string;
}

export interface MockAlex {
  url: string;
  fhirBaseUrl: string;
  tokenUrl: string;
  clientId: string;
  primarySecret: string;
  secondarySecret: string;
  /** Set which secrets are accepted now (rotation). */
  acceptSecrets(secrets: string[]): void;
  tokenRequests: MockAlexTokenRequest[];
  /** Queue answers for the next token requests (consumed in order); absent → a fresh token. */
  tokenScript: MockAlexAction[];
  requests: MockAlexRequest[];
  rules: MockAlexRule[];
  media: Array<Record<string, unknown>>;
  documents: Array<Record<string, unknown>>;
  patients: Array<Record<string, unknown>>;
  launches: Map<string, Record<string, unknown>>;
  /** Every issued token becomes unknown (ALEX answers 401). */
  revokeTokens(): void;
  /** Max POSTs being handled at once, per facility. */
  maxConcurrentPosts: Map<string, number>;
  /** Max POSTs being handled at once, all facilities together. */
  maxConcurrentPostsAll: number;
  close(): Promise<void>;
}

export async function startMockAlex(o: MockAlexOptions): Promise<MockAlex> {
  const lifetime = o.tokenLifetimeSeconds ?? 3599;
  const clientId = o.clientId ?? 'mock-client';
  const primarySecret = o.primarySecret ?? 'mock-primary-secret-CANARY-1';
  const secondarySecret = o.secondarySecret ?? 'mock-secondary-secret-CANARY-2';
  let accepted = new Set(o.acceptedSecrets ?? [primarySecret]);
  const tokens = new Map<string, { expiresAt: number }>();
  const inFlight = new Map<string, number>();
  let postsInFlight = 0;

  const app = Fastify({ logger: false, bodyLimit: 16 * 1024 * 1024, forceCloseConnections: true, keepAliveTimeout: 60_000 });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))));
  });
  app.addContentTypeParser('application/fhir+json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, JSON.parse(String(body)) as unknown);
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  const mock: MockAlex = {
    url: '',
    fhirBaseUrl: '',
    tokenUrl: '',
    clientId,
    primarySecret,
    secondarySecret,
    acceptSecrets(secrets) {
      accepted = new Set(secrets);
    },
    tokenRequests: [],
    tokenScript: [],
    requests: [],
    rules: [],
    media: [],
    documents: [],
    patients: [
      {
        resourceType: 'Patient',
        id: 'pat-1',
        identifier: [{ use: 'official', system: NHI_SYSTEM, value: 'ZZZ0016' }],
        name: [{ use: 'official', family: 'Testpatient', given: ['Canary'] }],
        gender: 'female',
        birthDate: '1961-05-21',
      },
    ],
    launches: new Map(),
    revokeTokens() {
      tokens.clear();
    },
    maxConcurrentPosts: new Map(),
    maxConcurrentPostsAll: 0,
    close: () => app.close(),
  };

  async function applyAction(action: MockAlexAction, req: FastifyRequest, reply: FastifyReply, handle: () => Promise<{ status: number; body: unknown; headers?: Record<string, string> }>): Promise<void> {
    switch (action.kind) {
      case 'respond':
        await reply.code(action.status).headers(action.headers ?? {}).send(action.body ?? '');
        return;
      case 'reset':
        reply.hijack();
        req.raw.socket.destroy();
        return;
      case 'process-then-reset':
        await handle();
        reply.hijack();
        req.raw.socket.destroy();
        return;
      case 'process-then-status':
        await handle();
        await reply.code(action.status).send({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'exception', diagnostics: 'upstream failure' }] });
        return;
      case 'hang':
        reply.hijack();
        return;
      case 'process-then-hang':
        await handle();
        reply.hijack();
        return;
      case 'delay': {
        await new Promise((r) => setTimeout(r, action.ms));
        const res = await handle();
        await reply.code(res.status).headers(res.headers ?? {}).send(res.body);
        return;
      }
    }
  }

  app.post('/tenant/oauth2/v2.0/token', async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, string>;
    const secret = body.client_secret === primarySecret ? 'primary' : body.client_secret === secondarySecret ? 'secondary' : 'wrong';
    const record: MockAlexTokenRequest = { at: o.clock(), clientId: body.client_id ?? '', secret, status: 0 };
    mock.tokenRequests.push(record);
    const scripted = mock.tokenScript.shift();
    if (scripted) {
      record.status = scripted.kind === 'respond' ? scripted.status : 0;
      return applyAction(scripted, req, reply, () => Promise.resolve({ status: 500, body: '' }));
    }
    if (body.grant_type !== 'client_credentials' || body.client_id !== clientId || !accepted.has(body.client_secret ?? '')) {
      record.status = 401;
      return reply.code(401).send({ error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.' });
    }
    const token = `tok-${randomUUID()}`;
    tokens.set(token, { expiresAt: o.clock() + lifetime * 1000 });
    record.status = 200;
    return reply.send({ token_type: 'Bearer', expires_in: lifetime, ext_expires_in: lifetime, access_token: token });
  });

  const searchBundle = (resources: Array<Record<string, unknown>>) => ({
    resourceType: 'Bundle',
    type: 'searchset',
    total: resources.length,
    entry: resources.length
      ? resources.map((r) => ({ resource: r }))
      : [{ resource: { resourceType: 'OperationOutcome', issue: [{ severity: 'information', code: 'not-found', diagnostics: 'No records found' }] } }],
  });

  const byNhi = (list: Array<Record<string, unknown>>, nhi: string) =>
    list.filter((r) => {
      const ref = (r.subject as { reference?: string } | undefined)?.reference ?? '';
      const pid = ref.split('/').pop();
      const p = mock.patients.find((x) => x.id === pid);
      return (p?.identifier as Array<{ value: string }> | undefined)?.some((i) => i.value === nhi) ?? false;
    });

  async function handleFhir(req: FastifyRequest, path: string, query: URLSearchParams): Promise<{ status: number; body: unknown; headers?: Record<string, string> }> {
    const notFound = { status: 404, body: { statusCode: 404, message: 'Resource not found' } };
    if (req.method === 'POST' && (path === '/Media' || path === '/DocumentReference')) {
      const body = req.body as Record<string, unknown> | null;
      const type = path.slice(1);
      if (!body || body.resourceType !== type || !Array.isArray(body.identifier) || body.identifier.length === 0) {
        return { status: 422, body: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'required', diagnostics: 'identifier is required', expression: [`${type}.identifier`] }] } };
      }
      const id = randomUUID().replace(/-/g, '');
      const stored = { ...body, id };
      (type === 'Media' ? mock.media : mock.documents).push(stored);
      return { status: 201, body: stored, headers: { location: `${mock.fhirBaseUrl}/${type}/${id}/_history/1` } };
    }
    if (req.method === 'GET') {
      const pm = /^\/Patient\/([^/]+)$/.exec(path);
      if (pm) {
        const p = mock.patients.find((x) => x.id === pm[1]);
        return p ? { status: 200, body: p } : notFound;
      }
      if (path === '/Patient') {
        const [, nhi] = (query.get('identifier') ?? '').split('|');
        return { status: 200, body: searchBundle(mock.patients.filter((p) => (p.identifier as Array<{ value: string }>).some((i) => i.value === nhi))) };
      }
      if (path === '/Media' || path === '/DocumentReference') {
        const [, nhi] = (query.get('patient.identifier') ?? '').split('|');
        if (!nhi) return { status: 403, body: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'forbidden', diagnostics: 'Authorization failed' }] } };
        return { status: 200, body: searchBundle(byNhi(path === '/Media' ? mock.media : mock.documents, nhi)) };
      }
      const dm = /^\/DocumentReference\/([^/]+)$/.exec(path);
      if (dm) {
        const d = mock.documents.find((x) => x.id === dm[1]);
        return d ? { status: 200, body: d } : notFound;
      }
      const lm = /^\/vendorforms\/api\/getlaunchcontextstring\/([^/]+)\/([^/]+)$/.exec(path);
      if (lm) {
        const l = mock.launches.get(`${decodeURIComponent(lm[1] ?? '')}/${decodeURIComponent(lm[2] ?? '')}`);
        return l ? { status: 200, body: l } : { status: 400, body: { statusCode: 400, message: 'Invalid launch context' } };
      }
    }
    return notFound;
  }

  app.all('/FHIR/*', async (req, reply) => {
    const full = new URL(req.url, 'http://x');
    const path = full.pathname.slice('/FHIR'.length);
    const auth = req.headers.authorization ?? '';
    const token = auth.startsWith('Bearer ') ? auth.slice(7) : null;
    const t = token ? tokens.get(token) : undefined;
    const facilityId = typeof req.headers['mt-facilityid'] === 'string' ? req.headers['mt-facilityid'] : null;
    const record: MockAlexRequest = {
      at: o.clock(),
      method: req.method,
      path,
      query: full.search,
      token,
      tokenExpired: t !== undefined && o.clock() >= t.expiresAt,
      tokenUnknown: t === undefined,
      facilityId,
      correlationId: typeof req.headers['mt-correlationid'] === 'string' ? req.headers['mt-correlationid'] : null,
      contentType: req.headers['content-type'] ?? null,
      accept: req.headers.accept ?? null,
    };
    mock.requests.push(record);
    if (record.tokenUnknown || record.tokenExpired) {
      return reply.code(401).send({ statusCode: 401, message: 'Unauthorized' });
    }
    const key = facilityId ?? '';
    if (req.method === 'POST') {
      const n = (inFlight.get(key) ?? 0) + 1;
      inFlight.set(key, n);
      mock.maxConcurrentPosts.set(key, Math.max(n, mock.maxConcurrentPosts.get(key) ?? 0));
      postsInFlight++;
      mock.maxConcurrentPostsAll = Math.max(postsInFlight, mock.maxConcurrentPostsAll);
    }
    try {
      const rule = mock.rules.find(
        (r) => (!r.method || r.method === req.method) && (!r.pathPrefix || path.startsWith(r.pathPrefix)) && (!r.facilityId || r.facilityId === facilityId),
      );
      const handle = () => handleFhir(req, path, full.searchParams);
      if (rule) {
        if (rule.times !== undefined && --rule.times <= 0) mock.rules.splice(mock.rules.indexOf(rule), 1);
        return await applyAction(rule.action, req, reply, handle);
      }
      const res = await handle();
      return await reply.code(res.status).headers({ 'content-type': 'application/fhir+json', ...res.headers }).send(res.body);
    } finally {
      if (req.method === 'POST') {
        inFlight.set(key, (inFlight.get(key) ?? 1) - 1);
        postsInFlight--;
      }
    }
  });

  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  mock.url = `http://127.0.0.1:${port}`;
  mock.fhirBaseUrl = `${mock.url}/FHIR`;
  mock.tokenUrl = `${mock.url}/tenant/oauth2/v2.0/token`;
  return mock;
}
