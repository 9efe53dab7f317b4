/** The Azure AD (Microsoft identity platform) token endpoint: client credentials, throttling, error shape. */
import { createHmac, randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { SandboxContext } from './context';

const INVALID_SCOPE =
  'The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).';

/** [status, error, AADSTS code, description]: the answers Azure AD gives; `$1` is the call's argument. */
const AZURE_ERRORS = {
  tenantNotFound: [400, 'invalid_request', 90002, "Tenant '$1' not found."],
  missingParameter: [400, 'invalid_request', 900144, "The request body must contain the following parameter: '$1'."],
  unsupportedGrant: [400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.'],
  unknownClient: [400, 'unauthorized_client', 700016, 'Application with the given identifier was not found in the directory.'],
  invalidSecret: [401, 'invalid_client', 7000215, 'Invalid client secret provided.'],
  invalidScope: [400, 'invalid_scope', 1002012, INVALID_SCOPE],
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
function mintAccessToken(key: Buffer, claims: Record<string, unknown>): string {
  const enc = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
  const head = `${enc({ typ: 'JWT', alg: 'HS256' })}.${enc(claims)}`;
  return `${head}.${createHmac('sha256', key).update(head).digest('base64url')}`;
}

/** As ALEX.md records. */
const TOKEN_LIFETIME_SECONDS = 3599;
const TOKEN_ROLES = ['patient.media.write', 'patient.media.read', 'patient.task.read', 'patient.documentreference.scaninbox.write'];

export function registerTokenRoute(app: FastifyInstance, ctx: SandboxContext): void {
  app.post('/:tenant/oauth2/v2.0/token', async (request, reply) => {
    ctx.store.bump('tokenRequests');
    const now = ctx.clock();
    const fail = (error: AzureError, arg?: string): FastifyReply => sendAzureError(reply, error, now, arg);
    const { tenant } = request.params as { tenant: string };
    if (tenant !== ctx.tenantId) return fail('tenantNotFound', tenant);
    const wait = ctx.store.takeTokenSlot(now);
    if (wait > 0) {
      reply.header('retry-after', String(wait));
      return fail('throttled');
    }
    const body = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as Record<string, string | undefined>;
    if (!request.headers['content-type']?.startsWith('application/x-www-form-urlencoded')) return fail('missingParameter', 'grant_type');
    for (const name of ['grant_type', 'client_id'] as const) if (!body[name]) return fail('missingParameter', name);
    if (body.grant_type !== 'client_credentials') return fail('unsupportedGrant');
    if (body.client_id !== ctx.credentials.clientId) return fail('unknownClient');
    if (body.client_secret !== ctx.credentials.clientSecret) return fail('invalidSecret');
    const scope = body.scope;
    if (!scope) return fail('missingParameter', 'scope');
    if (!scope.endsWith('/.default')) return fail('invalidScope');
    if (scope.slice(0, -'/.default'.length) !== ctx.resource) return fail('unknownResource');
    const iat = Math.floor(now / 1000);
    const lifetime = TOKEN_LIFETIME_SECONDS;
    const issuer = { aud: ctx.resource, iss: `https://sts.windows.net/${ctx.tenantId}/`, appid: ctx.credentials.clientId, tid: ctx.tenantId };
    const accessToken = mintAccessToken(ctx.tokenKey, { ...issuer, iat, nbf: iat, exp: iat + lifetime, roles: TOKEN_ROLES, jti: ctx.newId() });
    ctx.store.tokens.set(accessToken, { expiresAt: now + lifetime * 1000 });
    ctx.store.bump('tokensIssued');
    return reply
      .type('application/json; charset=utf-8')
      .header('cache-control', 'no-store, no-cache')
      .send({ token_type: 'Bearer', expires_in: lifetime, ext_expires_in: lifetime, access_token: accessToken });
  });
}
