/**
 * `npm run sandbox`: the ALEX sandbox standalone. Env (README "Use"): SANDBOX_PORT (4010), SANDBOX_HOST, SANDBOX_FAULTS,
 * SANDBOX_LAUNCH_SECRET, SANDBOX_LOG_LEVEL, SANDBOX_ASSUMPTIONS (JSON `{ name: true }`), SANDBOX_SEARCH_LAG_SECONDS (60).
 */
import { pino } from 'pino';
import { AppError } from '../../../shared/errors';
import { parseAssumptions } from './assumptions';
import { parseFaultRules } from './faults';
import { startSandbox } from './index';
import type { SandboxOptions } from './types';

function envInteger(name: string, max: number, rule: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > max) throw new AppError('ERR_REQUEST_INVALID', { detail: `${name} must be ${rule}` });
  return n;
}

function parseJson(raw: string, name: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    throw new AppError('ERR_REQUEST_INVALID', { detail: `${name} must be JSON` });
  }
}

async function main(): Promise<void> {
  const logger = pino({ level: process.env.SANDBOX_LOG_LEVEL ?? 'info' });
  const env = process.env;
  const options: SandboxOptions = {
    host: env.SANDBOX_HOST ?? '127.0.0.1',
    port: envInteger('SANDBOX_PORT', 65535, 'a port number') ?? 4010,
    logger,
    searchLagSeconds: envInteger('SANDBOX_SEARCH_LAG_SECONDS', 86_400, 'whole seconds, 0–86400'),
    launchSecret: env.SANDBOX_LAUNCH_SECRET || undefined,
  };
  if (env.SANDBOX_FAULTS) options.faults = parseFaultRules(env.SANDBOX_FAULTS);
  if (env.SANDBOX_ASSUMPTIONS) options.assumptions = parseAssumptions(parseJson(env.SANDBOX_ASSUMPTIONS, 'SANDBOX_ASSUMPTIONS'));
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
