/** Azure AD (Microsoft identity platform) token endpoint behaviour: client credentials, throttling, error shape. */
import { createHmac, randomUUID } from 'node:crypto';
import type { FastifyReply } from 'fastify';

/** [status, error, AADSTS code, description]: the answers Azure AD gives; `$1` is the call's argument. */
const AZURE_ERRORS = {
  tenantNotFound: [400, 'invalid_request', 90002, "Tenant '$1' not found."],
  missingParameter: [400, 'invalid_request', 900144, "The request body must contain the following parameter: '$1'."],
  unsupportedGrant: [400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.'],
  unknownClient: [400, 'unauthorized_client', 700016, 'Application with the given identifier was not found in the directory.'],
  invalidSecret: [401, 'invalid_client', 7000215, 'Invalid client secret provided.'],
  invalidScope: [
    400,
    'invalid_scope',
    1002012,
    'The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).',
  ],
  unknownResource: [400, 'invalid_resource', 500011, 'The resource principal was not found in the tenant.'],
  throttled: [429, 'temporarily_unavailable', 90055, 'TenantThrottlingThreshold: There are too many incoming requests.'],
  unavailable: [503, 'temporarily_unavailable', 90033, 'A transient error has occurred. Please try again.'],
  serverError: [500, 'server_error', 90100, 'An unexpected error occurred.'],
  malformed: [400, 'invalid_request', 900144, 'The request body must be form-encoded.'],
} as const;

export type AzureError = keyof typeof AZURE_ERRORS;

export function sendAzureError(reply: FastifyReply, name: AzureError, now: number, arg = ''): FastifyReply {
  const [status, error, aadsts, template] = AZURE_ERRORS[name];
  const timestamp = new Date(now).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  const ids = { traceId: randomUUID(), correlationId: randomUUID() };
  return reply
    .code(status)
    .type('application/json; charset=utf-8')
    .header('cache-control', 'no-store, no-cache')
    .send({
      error,
      error_description: `AADSTS${aadsts}: ${template.replace('$1', () => arg)} Trace ID: ${ids.traceId} Correlation ID: ${ids.correlationId} Timestamp: ${timestamp}`,
      error_codes: [aadsts],
      timestamp,
      trace_id: ids.traceId,
      correlation_id: ids.correlationId,
      error_uri: `https://login.microsoftonline.com/error?code=${aadsts}`,
    });
}

/** A JWT-shaped access token (HS256 with a per-sandbox key). Clients must treat it as opaque. */
export function mintAccessToken(key: Buffer, claims: Record<string, unknown>): string {
  const enc = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
  const head = `${enc({ typ: 'JWT', alg: 'HS256' })}.${enc(claims)}`;
  return `${head}.${createHmac('sha256', key).update(head).digest('base64url')}`;
}

/** Sliding-window counter for token requests: `take` answers 0 (counted) or the seconds until one may go. */
export class TokenThrottleWindow {
  private times: number[] = [];
  constructor(
    private readonly maxRequests: number,
    private readonly windowMs: number,
  ) {}

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
