/** Azure AD (Microsoft identity platform) token endpoint behaviour: client credentials, throttling, error shape. */
import { createHmac } from 'node:crypto';
import type { FastifyReply } from 'fastify';

export interface AzureErrorSpec {
  status: number;
  error: string;
  aadsts: number;
  description: string;
}

export function sendAzureError(reply: FastifyReply, spec: AzureErrorSpec, now: Date, ids: { traceId: string; correlationId: string }): FastifyReply {
  const timestamp = now.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  return reply
    .code(spec.status)
    .type('application/json; charset=utf-8')
    .header('cache-control', 'no-store, no-cache')
    .send({
      error: spec.error,
      error_description: `AADSTS${spec.aadsts}: ${spec.description} Trace ID: ${ids.traceId} Correlation ID: ${ids.correlationId} Timestamp: ${timestamp}`,
      error_codes: [spec.aadsts],
      timestamp,
      trace_id: ids.traceId,
      correlation_id: ids.correlationId,
      error_uri: `https://login.microsoftonline.com/error?code=${spec.aadsts}`,
    });
}

export const AZURE_ERRORS = {
  tenantNotFound: (tenant: string): AzureErrorSpec => ({ status: 400, error: 'invalid_request', aadsts: 90002, description: `Tenant '${tenant}' not found.` }),
  missingParameter: (name: string): AzureErrorSpec => ({
    status: 400,
    error: 'invalid_request',
    aadsts: 900144,
    description: `The request body must contain the following parameter: '${name}'.`,
  }),
  unsupportedGrant: (): AzureErrorSpec => ({ status: 400, error: 'unsupported_grant_type', aadsts: 70003, description: 'The app requested an unsupported grant type.' }),
  unknownClient: (): AzureErrorSpec => ({
    status: 400,
    error: 'unauthorized_client',
    aadsts: 700016,
    description: 'Application with the given identifier was not found in the directory.',
  }),
  invalidSecret: (): AzureErrorSpec => ({ status: 401, error: 'invalid_client', aadsts: 7000215, description: 'Invalid client secret provided.' }),
  invalidScope: (): AzureErrorSpec => ({
    status: 400,
    error: 'invalid_scope',
    aadsts: 1002012,
    description: 'The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).',
  }),
  unknownResource: (): AzureErrorSpec => ({ status: 400, error: 'invalid_resource', aadsts: 500011, description: 'The resource principal was not found in the tenant.' }),
  throttled: (): AzureErrorSpec => ({ status: 429, error: 'temporarily_unavailable', aadsts: 90055, description: 'TenantThrottlingThreshold: There are too many incoming requests.' }),
  unavailable: (): AzureErrorSpec => ({ status: 503, error: 'temporarily_unavailable', aadsts: 90033, description: 'A transient error has occurred. Please try again.' }),
  serverError: (): AzureErrorSpec => ({ status: 500, error: 'server_error', aadsts: 90100, description: 'An unexpected error occurred.' }),
  malformed: (): AzureErrorSpec => ({ status: 400, error: 'invalid_request', aadsts: 900144, description: 'The request body must be form-encoded.' }),
} as const;

/** A JWT-shaped access token (HS256 with a per-sandbox key). Clients must treat it as opaque. */
export function mintAccessToken(key: Buffer, claims: Record<string, unknown>): string {
  const enc = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
  const head = `${enc({ typ: 'JWT', alg: 'HS256' })}.${enc(claims)}`;
  return `${head}.${createHmac('sha256', key).update(head).digest('base64url')}`;
}

/** Sliding-window counter for token requests. */
export class TokenThrottleWindow {
  private times: number[] = [];
  constructor(
    private readonly maxRequests: number,
    private readonly windowMs: number,
  ) {}

  /** Returns 0 when the request may proceed (and counts it), else seconds until it may. */
  take(now: number): number {
    this.times = this.times.filter((t) => t > now - this.windowMs);
    if (this.times.length >= this.maxRequests) {
      const oldest = this.times[0] ?? now;
      return Math.max(1, Math.ceil((oldest + this.windowMs - now) / 1000));
    }
    this.times.push(now);
    return 0;
  }

  reset(): void {
    this.times = [];
  }
}
