/**
 * `npm start`: the gateway with the in-process ALEX sandbox, and the companion (the Electron app when its binary is
 * present, otherwise the core in Node behind the browser host). Flags, variables and ports: scripts/README.md.
 */
import { spawn, spawnSync } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { DEV_FACILITY, startDevStack, type DevStack } from './browser-host/stack';
import { describePorts, explainListenError, portsFromEnv, type StartPorts } from './setup/ports';
import { findElectronBinary } from './setup/prepare.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const dataDir = resolve(process.env.CLINICPRO_DATA_DIR ?? join(root, '.data'));

/**
 * Gateway + sandbox, and the companion core with the browser host. When the Electron app runs, IT is the
 * companion on the configured launch and LAN ports: the stack's own companion then takes ephemeral loopback
 * ports and no phone server, so the two never compete for a port.
 */
function startStack(ports: StartPorts, electronRuns: boolean, logger: pino.Logger): Promise<DevStack> {
  const staticDir = join(root, 'dist', 'renderer');
  return startDevStack({
    dataDir,
    staticDir,
    gatewayPort: ports.gateway,
    sandbox: { port: ports.sandbox },
    launchPort: electronRuns ? 0 : ports.launch,
    hostPort: electronRuns ? 0 : ports.host,
    lan: electronRuns ? false : ports.lan,
    mobileAssetsDir: join(staticDir, 'mobile'),
    autoEnrol: !args.has('--no-enrol'),
    logger,
  });
}

/** The printout: every port with what it is and its variable, then what to do next. */
function describeRunning(stack: DevStack, ports: StartPorts, electronRuns: boolean): string[] {
  const patients = stack.sandbox.patients.map((p) => `${p.nhi} (${p.givenName} ${p.familyName})`).join(', ');
  const lan = stack.companion.lanAddress;
  const launchOrigin = electronRuns ? `http://127.0.0.1:${ports.launch}` : `http://127.0.0.1:${stack.loopback.port}`;
  return [
    '',
    'ClinicPro Images is running (offline, against the ALEX sandbox — no real patient data).',
    ...describePorts({
      gateway: stack.gatewayUrl,
      sandbox: stack.sandbox.url,
      launch: launchOrigin,
      lan: electronRuns ? `http://${ports.lan.host}:${ports.lan.port} (the Electron app)` : lan ? `http://${lan.host}:${lan.port}` : null,
      host: electronRuns ? '(not started: the Electron window shows the UI)' : stack.host.origin,
    }),
    `  sandbox faults ${stack.sandbox.url}/_sandbox/faults`,
    `  launch URL     ${launchOrigin}/launch?context={context}&signature={signature}`,
    `  enrolment      code ${stack.enrolmentCode}  (gateway URL ${stack.gatewayUrl})`,
    `  patients       ${patients}`,
    `  launch one     npm run launch -- ZZZ0016`,
    electronRuns
      ? '  secrets        the OS credential store, or a DEVELOPMENT ONLY file with a warning when keytar is not built'
      : `  secrets        DEVELOPMENT ONLY file ${join(dataDir, 'companion', 'dev-secrets.json')} (the installed app uses the OS credential store)`,
  ];
}

/** The Electron app against the local gateway, on the configured launch and LAN ports; stopping it stops the stack. */
function startElectron(electronPath: string, stack: DevStack, ports: StartPorts): void {
  const child = spawn(electronPath, [root, '--'], {
    stdio: 'inherit',
    env: {
      ...process.env,
      CLINICPRO_DEV_GATEWAY_URL: stack.gatewayUrl,
      CLINICPRO_DEV_ENROLMENT_CODE: stack.enrolmentCode,
      CLINICPRO_LAUNCH_PORT: String(ports.launch),
      CLINICPRO_LAN_PORT: String(ports.lan.port),
      CLINICPRO_LAN_HOST: ports.lan.host,
    },
  });
  child.on('exit', () => void stack.close().then(() => process.exit(0)));
}

async function main(ports: StartPorts): Promise<void> {
  // Readable warnings for a person at a terminal; the product logs stay JSON.
  const logger = pino({ level: process.env.LOG_LEVEL ?? 'warn', transport: { target: 'pino-pretty', options: { colorize: true, ignore: 'pid,hostname' } } });
  if (args.has('--fresh')) await rm(dataDir, { recursive: true, force: true });

  console.log('Building the UI…');
  const build = spawnSync('node', ['scripts/build-renderer.mjs'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) {
    console.error('The UI did not build; see the messages above.');
    process.exit(1);
  }

  const electron = findElectronBinary();
  const electronPath = 'path' in electron ? electron.path : null;
  const stack = await startStack(ports, electronPath !== null, logger);
  // Where the launch simulator finds the running stack (the Electron app's launch listener when it runs).
  await writeFile(
    join(dataDir, 'dev-stack.json'),
    JSON.stringify({ sandboxUrl: stack.sandbox.url, launchPort: electronPath ? ports.launch : stack.loopback.port, facility: DEV_FACILITY, pid: process.pid }, null, 2),
    { mode: 0o600 },
  );

  const lines = describeRunning(stack, ports, electronPath !== null);
  if (electronPath) {
    lines.push('', `Starting the desktop app (Electron at ${electronPath})…`);
    startElectron(electronPath, stack, ports);
  } else {
    lines.push(
      '',
      `No Electron desktop window: ${'reason' in electron ? electron.reason : ''}.`,
      'The same UI is served by the browser host instead. Open:',
      `  ${stack.host.url}`,
    );
  }
  console.log(lines.join('\n'));

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    console.log('\nStopping…');
    stack.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  let ports: StartPorts;
  try {
    ports = portsFromEnv(process.env);
  } catch (err) {
    console.error(`ClinicPro Images could not start: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
  main(ports).catch((err: unknown) => {
    const why = explainListenError(err, ports) ?? (err instanceof Error ? err.message : String(err));
    console.error(`ClinicPro Images could not start: ${why}`);
    process.exit(1);
  });
}
