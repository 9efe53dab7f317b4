/**
 * `npm run sandbox`: the ALEX sandbox standalone.
 * Env: SANDBOX_PORT (default 4010), SANDBOX_HOST (default 127.0.0.1), SANDBOX_FAULTS (JSON rule or array),
 * SANDBOX_LAUNCH_SECRET (keeps launch pairs valid across restarts), SANDBOX_LOG_LEVEL (default info),
 * SANDBOX_ASSUMPTIONS (JSON `{ name: true }`: assumptions to switch on; default none — strict),
 * SANDBOX_SEARCH_LAG_SECONDS (default 60: how long a new resource stays out of searches while strict).
 */
import { pino } from 'pino';
import { AppError } from '../../../shared/errors';
import { parseAssumptions } from './assumptions';
import { parseFaultRules } from './faults';
import { startSandbox } from './index';
import type { SandboxOptions } from './types';

function parsePort(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 4010;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new AppError('ERR_REQUEST_INVALID', { detail: 'SANDBOX_PORT must be a port number' });
  return port;
}

function parseJson(raw: string, name: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    throw new AppError('ERR_REQUEST_INVALID', { detail: `${name} must be JSON` });
  }
}

function parseSeconds(raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 86_400) throw new AppError('ERR_REQUEST_INVALID', { detail: 'SANDBOX_SEARCH_LAG_SECONDS must be whole seconds, 0–86400' });
  return n;
}

async function main(): Promise<void> {
  const logger = pino({ level: process.env.SANDBOX_LOG_LEVEL ?? 'info' });
  const options: SandboxOptions = {
    host: process.env.SANDBOX_HOST ?? '127.0.0.1',
    port: parsePort(process.env.SANDBOX_PORT),
    logger,
  };
  if (process.env.SANDBOX_FAULTS) options.faults = parseFaultRules(process.env.SANDBOX_FAULTS);
  if (process.env.SANDBOX_LAUNCH_SECRET) options.launchSecret = process.env.SANDBOX_LAUNCH_SECRET;
  if (process.env.SANDBOX_ASSUMPTIONS) options.assumptions = parseAssumptions(parseJson(process.env.SANDBOX_ASSUMPTIONS, 'SANDBOX_ASSUMPTIONS'));
  if (process.env.SANDBOX_SEARCH_LAG_SECONDS) options.searchLagSeconds = parseSeconds(process.env.SANDBOX_SEARCH_LAG_SECONDS);
  const sandbox = await startSandbox(options);
  // The banner is the command's output for the operator (stdout), not a log line.
  process.stdout.write(
    [
      'ALEX sandbox running (test data only; credentials below open nothing else)',
      `  FHIR base     ${sandbox.fhirBaseUrl}`,
      `  token URL     ${sandbox.tokenUrl}`,
      `  client_id     ${sandbox.credentials.clientId}`,
      `  client_secret ${sandbox.credentials.clientSecret}`,
      `  scope         ${sandbox.credentials.scope}`,
      `  facilities    ${sandbox.facilities.join(', ')}`,
      `  patients      ${sandbox.patients.length} test patients (details at /_sandbox/state)`,
      `  faults        ${sandbox.faults.list().length} active; manage at ${sandbox.url}/_sandbox/faults`,
      `  state         ${sandbox.url}/_sandbox/state`,
      `  launches      POST ${sandbox.url}/_sandbox/launch {"patientId":"…","facilityCode":"${sandbox.facilities[0] ?? ''}"}`,
    ].join('\n') + '\n',
  );

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'sandbox stopping');
    sandbox.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'sandbox did not close cleanly');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  const detail = err instanceof AppError ? `${err.message} ${err.detail ?? ''}` : err instanceof Error ? err.message : String(err);
  console.error(`Sandbox failed to start: ${detail}`);
  process.exit(1);
});
