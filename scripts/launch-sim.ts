/**
 * Launch simulator (`npm run launch -- ZZZ0016`): what Medtech Evolution does when the GP clicks the toolbar icon, an
 * HTTP GET of a sandbox launch pair to the companion's loopback launch listener ("Web Browser" mode). scripts/README.md.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

interface DevStackInfo {
  sandboxUrl: string;
  launchPort: number;
  facility: string;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const nhi = argv.find((a) => !a.startsWith('--'))?.toUpperCase() ?? 'ZZZ0016';
  const dataDir = resolve(process.env.CLINICPRO_DATA_DIR ?? join(fileURLToPath(new URL('..', import.meta.url)), '.data'));
  let info: DevStackInfo;
  try {
    info = JSON.parse(await readFile(join(dataDir, 'dev-stack.json'), 'utf8')) as DevStackInfo;
  } catch {
    console.error('ClinicPro Images is not running. Start it first with `npm start`.');
    process.exit(1);
  }

  let patientId: string | null = null;
  if (!argv.includes('--no-patient')) {
    const state = (await (await fetch(`${info.sandboxUrl}/_sandbox/state`)).json()) as { patients?: Array<{ id: string; nhi: string }> };
    const patient = state.patients?.find((p) => p.nhi === nhi);
    if (!patient) {
      console.error(`No sandbox patient has NHI ${nhi}. Known: ${(state.patients ?? []).map((p) => p.nhi).join(', ')}`);
      process.exit(1);
    }
    patientId = patient.id;
  }
  const res = await fetch(`${info.sandboxUrl}/_sandbox/launch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ patientId, facilityCode: info.facility }),
  });
  if (res.status !== 201) {
    console.error(`The sandbox refused to issue a launch (HTTP ${res.status}).`);
    process.exit(1);
  }
  const pair = (await res.json()) as { context: string; signature: string };
  const query = `context=${encodeURIComponent(pair.context)}&signature=${encodeURIComponent(pair.signature)}`;
  if (argv.includes('--print')) {
    console.log(`clinicpro-images://launch?${query}`);
    return;
  }
  const delivered = await fetch(`http://127.0.0.1:${info.launchPort}/launch?${query}`).catch(() => null);
  if (!delivered?.ok) {
    console.error('The companion did not take the launch. Is `npm start` still running?');
    process.exit(1);
  }
  console.log(patientId ? `Launched ClinicPro Images for ${nhi}.` : 'Launched ClinicPro Images with no patient open.');
}

main().catch((err: unknown) => {
  console.error(`Launch failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
