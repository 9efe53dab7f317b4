/** The ALEX sandbox: a local simulator of Medtech's ALEX FHIR API and its Azure AD token endpoint (README.md). */
import { BugIndicatingError } from '../../../shared/errors';
import { buildSandboxApp } from './app';
import type { RunningSandbox, SandboxOptions } from './types';

export { buildSandboxApp, type SandboxApp } from './app';
export * from './types';

/** Listen on `host:port` (default 127.0.0.1, an ephemeral port). */
export async function startSandbox(options: SandboxOptions = {}): Promise<RunningSandbox> {
  const app = buildSandboxApp(options);
  const host = options.host ?? '127.0.0.1';
  await app.listen({ host, port: options.port ?? 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') {
    await app.close();
    throw new BugIndicatingError('The sandbox did not get a TCP address');
  }
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const url = `http://${urlHost}:${address.port}`;
  let closed: Promise<void> | undefined;
  return {
    ...app.sandbox,
    url,
    port: address.port,
    fhirBaseUrl: `${url}/FHIR`,
    tokenUrl: `${url}${app.sandbox.tokenPath}`,
    close: () => (closed ??= app.close()),
  };
}
