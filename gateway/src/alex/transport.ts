/** One HTTP attempt to ALEX over one of two socket pools, with ALEX's headers: the answer or the network failure. */
import http from 'node:http';
import https from 'node:https';
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import { classifyNetworkError, type NetworkFailure } from './errors';
import { abortError } from './token';
import type { AlexCallContext } from './types';

export type Method = 'GET' | 'POST';

/** One call as the executor runs it (each attempt sends the same bytes). */
export interface Call {
  op: string;
  method: Method;
  url: string;
  /** Made once per create, sent as they are on every attempt. */
  body?: Buffer;
  ctx: AlexCallContext;
  /** Statuses that are a normal answer for this call (e.g. 404 on a read → null). */
  accept?: readonly number[];
}

export type Attempt =
  | { type: 'answer'; status: number; data: unknown; headers: AxiosResponse['headers'] }
  | { type: 'network'; kind: NetworkFailure; cause: unknown };

/** Sockets in use, idle, and requests queued for one. */
export type ConnectionStats = Record<'active' | 'idle' | 'waiting', number>;

type AgentPair = { httpAgent: http.Agent; httpsAgent: https.Agent };

/** Largest answer accepted (a Media search returns the images). */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** Sockets of an agent pair (http and https), all hosts together. */
function connectionStats(agents: AgentPair): ConnectionStats {
  const count = (byHost: NodeJS.ReadOnlyDict<readonly unknown[]>): number => Object.values(byHost).reduce((n, list) => n + (list?.length ?? 0), 0);
  const out = { active: 0, idle: 0, waiting: 0 };
  for (const agent of [agents.httpAgent, agents.httpsAgent]) {
    out.active += count(agent.sockets);
    out.idle += count(agent.freeSockets);
    out.waiting += count(agent.requests);
  }
  return out;
}

function parseJson(data: unknown): unknown {
  if (typeof data !== 'string') return data;
  const s = data.trim();
  if (!s.startsWith('{') && !s.startsWith('[')) return data;
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return data;
  }
}

export class AlexTransport {
  /** Axios over the read pool: for token calls too. */
  readonly http: AxiosInstance;
  private readonly readAgents: AgentPair;
  private readonly createAgents: AgentPair;
  attempts = 0;

  constructor(private readonly options: { maxSockets: number; timeoutMs: number }) {
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets };
    // Two pools: a create holds its socket for as long as ALEX takes to store it (seconds, through a
    // practice's Hybrid Connection); reads and token calls must not wait behind those.
    this.readAgents = { httpAgent: new http.Agent(agentOptions), httpsAgent: new https.Agent(agentOptions) };
    this.createAgents = { httpAgent: new http.Agent(agentOptions), httpsAgent: new https.Agent(agentOptions) };
    this.http = axios.create({
      ...this.readAgents,
      proxy: false,
      maxRedirects: 0,
      maxContentLength: MAX_RESPONSE_BYTES,
      maxBodyLength: 16 * 1024 * 1024,
      transitional: { clarifyTimeoutError: true, silentJSONParsing: true, forcedJSONParsing: false },
    });
  }

  /** One attempt. Throws only when the caller's signal aborted. */
  async send(call: Call, token: string): Promise<Attempt> {
    this.attempts++;
    const headers: Record<string, string> = {
      Authorization: `Bearer ${token}`,
      'mt-facilityid': call.ctx.facilityId,
      'mt-correlationid': call.ctx.correlationId,
      Accept: 'application/fhir+json',
    };
    if (call.body !== undefined) headers['Content-Type'] = 'application/fhir+json';
    try {
      const res = await this.http.request({
        ...(call.method === 'POST' ? this.createAgents : this.readAgents),
        method: call.method,
        url: call.url,
        data: call.body,
        headers,
        timeout: this.options.timeoutMs,
        signal: call.ctx.signal,
        validateStatus: () => true,
        responseType: 'text',
        transformResponse: (d: unknown) => d,
      });
      return { type: 'answer', status: res.status, data: parseJson(res.data), headers: res.headers };
    } catch (err) {
      if (axios.isCancel(err) || call.ctx.signal?.aborted) throw abortError();
      const e = err as { code?: string; message?: string };
      return { type: 'network', kind: classifyNetworkError(e.code, e.message), cause: err };
    }
  }

  connections(): Record<'create' | 'read', ConnectionStats> {
    return { create: connectionStats(this.createAgents), read: connectionStats(this.readAgents) };
  }

  close(): void {
    for (const agents of [this.readAgents, this.createAgents]) {
      agents.httpAgent.destroy();
      agents.httpsAgent.destroy();
    }
  }
}
