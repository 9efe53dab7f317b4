/**
 * The ports `npm start` opens, each settable by an environment variable, and how they are printed.
 * Defaults are fixed (not random), so two stacks clash visibly and a firewall rule can name them.
 */

export interface StartPorts {
  gateway: number;
  sandbox: number;
  launch: number;
  lan: { host: string; port: number };
  host: number;
}

export const PORT_SETTINGS = [
  { key: 'gateway', env: 'GATEWAY_PORT', fallback: 47700, what: 'gateway' },
  { key: 'sandbox', env: 'SANDBOX_PORT', fallback: 47710, what: 'ALEX sandbox' },
  { key: 'launch', env: 'CLINICPRO_LAUNCH_PORT', fallback: 47900, what: 'launch listener (loopback)' },
  { key: 'lan', env: 'CLINICPRO_LAN_PORT', fallback: 47800, what: 'phone uploads (LAN)' },
  { key: 'host', env: 'CLINICPRO_HOST_PORT', fallback: 47910, what: 'browser host (desktop UI)' },
] as const;

function parsePort(env: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw.trim() === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`${env} must be a port number from 1 to 65535, not ${JSON.stringify(raw)}`);
  }
  return port;
}

/** The ports from the environment; throws a plain message for a bad value or two services on one port. */
export function portsFromEnv(env: Record<string, string | undefined>): StartPorts {
  const n = Object.fromEntries(PORT_SETTINGS.map((s) => [s.key, parsePort(s.env, env[s.env], s.fallback)])) as Record<(typeof PORT_SETTINGS)[number]['key'], number>;
  const seen = new Map<number, string>();
  for (const s of PORT_SETTINGS) {
    const other = seen.get(n[s.key]);
    if (other) throw new Error(`${other} and ${s.env} are both ${n[s.key]}: give each its own port`);
    seen.set(n[s.key], s.env);
  }
  return { gateway: n.gateway, sandbox: n.sandbox, launch: n.launch, lan: { host: env.CLINICPRO_LAN_HOST ?? '127.0.0.1', port: n.lan }, host: n.host };
}

/** "port 47700 (gateway) is already in use: set GATEWAY_PORT to another" for an EADDRINUSE on one of ours. */
export function explainListenError(err: unknown, ports: StartPorts): string | null {
  if (typeof err !== 'object' || err === null) return null;
  const e = err as { code?: unknown; port?: unknown; message?: unknown };
  if (e.code !== 'EADDRINUSE' && !/EADDRINUSE/.test(String(e.message ?? ''))) return null;
  const port = typeof e.port === 'number' ? e.port : Number(/:(\d+)\s*$/.exec(String(e.message ?? ''))?.[1]);
  const numbers: Record<string, number> = { gateway: ports.gateway, sandbox: ports.sandbox, launch: ports.launch, lan: ports.lan.port, host: ports.host };
  const setting = PORT_SETTINGS.find((s) => numbers[s.key] === port);
  if (!setting) return `a port is already in use (${String(e.message ?? '')})`;
  return `port ${port} (${setting.what}) is already in use — another ClinicPro Images stack or program has it: set ${setting.env} to another port`;
}

/** One line per port: what it is, where, and the variable that changes it. */
export function describePorts(urls: { gateway: string; sandbox: string; launch: string; lan: string | null; host: string }): string[] {
  const rows: [string, string, string][] = [
    ['gateway', urls.gateway, 'GATEWAY_PORT'],
    ['ALEX sandbox', urls.sandbox, 'SANDBOX_PORT'],
    ['launch listener', urls.launch, 'CLINICPRO_LAUNCH_PORT'],
    ['phone uploads', urls.lan ?? '(off)', 'CLINICPRO_LAN_HOST, CLINICPRO_LAN_PORT'],
    ['browser host', urls.host, 'CLINICPRO_HOST_PORT'],
  ];
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  return ['  ports (each set by the variable on the right):', ...rows.map(([a, b, c]) => `    ${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}`)];
}
