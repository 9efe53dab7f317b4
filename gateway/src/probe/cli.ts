/**
 * `npm run gateway:probe -- --facility <mt-facilityid> --nhi <Z-prefixed test NHI> [--write]`, with ALEX configured
 * as for the gateway (ALEX_*). Exit 0 when it ran, 1 when it could not (bad arguments, no ALEX, token refused).
 */
import { ConfigError, loadConfig } from '../config';
import { PROBE_TITLE, formatProbe, runProbe } from './probe';

function arg(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

async function main(argv: readonly string[]): Promise<number> {
  const config = loadConfig(process.env);
  if (config.alex === null) {
    process.stderr.write('gateway:probe needs a real ALEX: set ALEX_BASE_URL, ALEX_TOKEN_URL, ALEX_CLIENT_ID, ALEX_CLIENT_SECRET and ALEX_SCOPE.\n');
    return 1;
  }
  const facilityId = arg(argv, '--facility');
  const testNhi = arg(argv, '--nhi');
  if (!facilityId || !testNhi) {
    process.stderr.write('Usage: npm run gateway:probe -- --facility <mt-facilityid> --nhi <Z-prefixed test NHI> [--write]\n');
    return 1;
  }
  const write = argv.includes('--write');
  if (write) process.stdout.write(`TEST WRITES: test Media titled "${PROBE_TITLE}" go to the test patient.\n`);
  const checks = await runProbe({ fhirBaseUrl: config.alex.baseUrl, tokenUrl: config.alex.tokenUrl, clientId: config.alex.clientId, clientSecret: config.alex.clientSecrets[0] ?? '', scope: config.alex.scope, facilityId, testNhi, write });
  process.stdout.write(`${formatProbe(checks)}\n`);
  return checks.some((c) => c.name === 'token' && c.holds === false) ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`gateway:probe failed: ${err instanceof ConfigError || err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
