/** The Azure AD client-credentials token endpoint, with Azure AD's error shapes and throttle. */
import type { FastifyInstance } from 'fastify';
import { AZURE_ERRORS, mintAccessToken, sendAzureError, type AzureErrorSpec } from './azure';
import type { SandboxContext } from './context';

export function registerTokenRoute(app: FastifyInstance, ctx: SandboxContext): void {
  app.post('/:tenant/oauth2/v2.0/token', async (request, reply) => {
    ctx.store.bump('tokenRequests');
    const now = ctx.clock();
    const fail = (error: AzureErrorSpec) => sendAzureError(reply, error, new Date(now), { traceId: ctx.uuid(), correlationId: ctx.uuid() });
    const { tenant } = request.params as { tenant: string };
    if (tenant !== ctx.tenantId) return fail(AZURE_ERRORS.tenantNotFound(tenant));
    if (ctx.throttle !== null) {
      const wait = ctx.throttle.take(now);
      if (wait > 0) {
        reply.header('retry-after', String(wait));
        return fail(AZURE_ERRORS.throttled());
      }
    }
    const body = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as Record<string, string | undefined>;
    if (!request.headers['content-type']?.startsWith('application/x-www-form-urlencoded')) return fail(AZURE_ERRORS.missingParameter('grant_type'));
    for (const name of ['grant_type', 'client_id'] as const) if (!body[name]) return fail(AZURE_ERRORS.missingParameter(name));
    if (body.grant_type !== 'client_credentials') return fail(AZURE_ERRORS.unsupportedGrant());
    if (body.client_id !== ctx.credentials.clientId) return fail(AZURE_ERRORS.unknownClient());
    if (body.client_secret !== ctx.credentials.clientSecret) return fail(AZURE_ERRORS.invalidSecret());
    const scope = body.scope;
    if (!scope) return fail(AZURE_ERRORS.missingParameter('scope'));
    if (!scope.endsWith('/.default')) return fail(AZURE_ERRORS.invalidScope());
    if (scope.slice(0, -'/.default'.length) !== ctx.resource) return fail(AZURE_ERRORS.unknownResource());
    const iat = Math.floor(now / 1000);
    const lifetime = ctx.tokenLifetimeSeconds;
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
    ctx.store.tokens.set(accessToken, { expiresAt: now + lifetime * 1000, clientId: ctx.credentials.clientId });
    ctx.store.bump('tokensIssued');
    return reply
      .type('application/json; charset=utf-8')
      .header('cache-control', 'no-store, no-cache')
      .send({ token_type: 'Bearer', expires_in: lifetime, ext_expires_in: lifetime, access_token: accessToken });
  });
}
