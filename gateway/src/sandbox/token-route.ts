/** The Azure AD client-credentials token endpoint, with Azure AD's error shapes and throttle. */
import type { FastifyInstance } from 'fastify';
import { mintAccessToken, sendAzureError, type AzureError } from './azure';
import type { SandboxContext } from './context';

/** As ALEX.md records. */
const TOKEN_LIFETIME_SECONDS = 3599;

export function registerTokenRoute(app: FastifyInstance, ctx: SandboxContext): void {
  app.post('/:tenant/oauth2/v2.0/token', async (request, reply) => {
    ctx.store.bump('tokenRequests');
    const now = ctx.clock();
    const fail = (error: AzureError, arg?: string) => sendAzureError(reply, error, now, arg);
    const { tenant } = request.params as { tenant: string };
    if (tenant !== ctx.tenantId) return fail('tenantNotFound', tenant);
    if (ctx.throttle !== null) {
      const wait = ctx.throttle.take(now);
      if (wait > 0) {
        reply.header('retry-after', String(wait));
        return fail('throttled');
      }
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
    const accessToken = mintAccessToken(ctx.tokenKey, {
      aud: ctx.resource,
      iss: `https://sts.windows.net/${ctx.tenantId}/`,
      iat,
      nbf: iat,
      exp: iat + lifetime,
      appid: ctx.credentials.clientId,
      tid: ctx.tenantId,
      roles: ['patient.media.write', 'patient.media.read', 'patient.task.read', 'patient.documentreference.scaninbox.write'],
      jti: ctx.newId(),
    });
    ctx.store.tokens.set(accessToken, { expiresAt: now + lifetime * 1000 });
    ctx.store.bump('tokensIssued');
    return reply
      .type('application/json; charset=utf-8')
      .header('cache-control', 'no-store, no-cache')
      .send({ token_type: 'Bearer', expires_in: lifetime, ext_expires_in: lifetime, access_token: accessToken });
  });
}
