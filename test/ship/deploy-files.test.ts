/**
 * The gateway's deployment files, read as shipped: Dockerfile (stages, non-root USER, HEALTHCHECK,
 * EXPOSE, production-only dependencies), the systemd unit (hardening, user, restart policy; verified by
 * systemd-analyze), the compose example (replicas, Redis, load balancer, no public metrics), the alert rules
 * (every metric they use exists; every alert has a runbook section) and the example environment file.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { GATEWAY_NODE_FLAGS } from '../../gateway/deploy/build';
import { EnvSchema } from '../../gateway/src/config';
import { GatewayMetrics } from '../../gateway/src/metrics/metrics';
import { DEPLOY_DIR, execForm, parseDockerfile, parseUnit } from './helpers/deploy-files';
import { metricNames } from './helpers/prometheus';

const ROOT = join(DEPLOY_DIR, '..', '..');
const read = (...p: string[]) => readFileSync(join(DEPLOY_DIR, ...p), 'utf8');

describe('Dockerfile', () => {
  const steps = parseDockerfile(read('Dockerfile'));
  const froms = steps.filter((s) => s.op === 'FROM');
  const last = froms.length - 1;
  const runtime = steps.filter((s) => s.stage === last);

  it('is multi-stage on a Node LTS slim image, ending in a runtime stage without compilers', () => {
    expect(froms.map((f) => f.args)).toEqual(['${NODE_IMAGE} AS build', '${NODE_IMAGE} AS deps', '${NODE_IMAGE} AS runtime']);
    const arg = steps.find((s) => s.op === 'ARG' && s.args.startsWith('NODE_IMAGE='));
    expect(arg?.args).toMatch(/^NODE_IMAGE=node:(20|22)-slim$/);
    expect(runtime.filter((s) => s.op === 'RUN').map((s) => s.args).join(' ')).not.toMatch(/apt-get|g\+\+|npm (ci|install)/);
  });

  it('installs production dependencies only and copies just node_modules and the bundle into the runtime', () => {
    const deps = steps.filter((s) => s.stage === 1 && s.op === 'RUN').map((s) => s.args).join(' ');
    expect(deps).toMatch(/npm ci --omit=dev/);
    const copies = runtime.filter((s) => s.op === 'COPY').map((s) => s.args);
    expect(copies).toEqual(['--from=deps /app/node_modules ./node_modules', '--from=build /src/dist/gateway ./dist/gateway', 'package.json ./']);
    const build = steps.filter((s) => s.stage === 0 && s.op === 'RUN').map((s) => s.args);
    expect(build).toContain('npx tsx gateway/deploy/build.ts dist/gateway');
    // Everything the build stage copies exists in the repository.
    for (const c of steps.filter((s) => s.stage === 0 && s.op === 'COPY')) {
      for (const src of c.args.split(' ').slice(0, -1)) expect(existsSync(join(ROOT, src)), src).toBe(true);
    }
  });

  it('runs as a non-root user, exposes the API and metrics ports, checks /healthz and runs the bundle', () => {
    const users = runtime.filter((s) => s.op === 'USER').map((s) => s.args);
    expect(users).toHaveLength(1);
    expect(users[0]).not.toMatch(/^(root|0)(:|$)/);
    expect(runtime.findIndex((s) => s.op === 'USER')).toBeLessThan(runtime.findIndex((s) => s.op === 'CMD'));
    expect(runtime.find((s) => s.op === 'EXPOSE')?.args.split(' ').sort()).toEqual(['47700', '9464']);
    const hc = runtime.find((s) => s.op === 'HEALTHCHECK');
    expect(hc?.args).toMatch(/--interval=\d+s/);
    expect(execForm(hc?.args.slice(hc.args.indexOf('CMD')) ?? '').join(' ')).toContain('/healthz');
    expect(execForm(runtime.find((s) => s.op === 'CMD')?.args ?? '')).toEqual(['node', ...GATEWAY_NODE_FLAGS, 'dist/gateway/server.mjs']);
    const env = runtime.filter((s) => s.op === 'ENV').map((s) => s.args).join(' ');
    expect(env).toContain('GATEWAY_PORT=47700');
    expect(env).toContain('METRICS_PORT=9464');
  });

  it('bakes no secret into the image', () => {
    const text = read('Dockerfile');
    expect(text).not.toMatch(/ALEX_CLIENT_SECRET|REDIS_URL=|CSC_/);
    expect(read('Dockerfile.dockerignore')).toMatch(/^\*\*\/\.env$/m);
  });
});

describe('how production starts the server', () => {
  it('npm run gateway:start passes the same Node flags as the image and the unit', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts['gateway:start']).toBe(`node ${GATEWAY_NODE_FLAGS.join(' ')} dist/gateway/server.mjs`);
  });

  it('the flags are ones this Node accepts (a bad option stops Node), and the semi-space cap takes effect', () => {
    const limitMb = (flags: readonly string[]): number => {
      const run = spawnSync(process.execPath, [...flags, '-e', 'process.stdout.write(String(require("node:v8").getHeapStatistics().heap_size_limit))'], { encoding: 'utf8' });
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      return Number(run.stdout) / (1024 * 1024);
    };
    // V8 reserves three semi-spaces' worth in its limit: 16 MB each by default on 64-bit, 4 MB with the flag.
    expect(limitMb([]) - limitMb(GATEWAY_NODE_FLAGS)).toBe(3 * (16 - 4));
  });
});

describe('systemd unit', () => {
  const unit = parseUnit(read('clinicpro-gateway.service'));
  const service = unit.get('Service') ?? new Map<string, string[]>();
  const one = (k: string) => service.get(k)?.at(-1);

  it('runs the bundle as a dedicated unprivileged user with secrets from an EnvironmentFile', () => {
    expect(one('DynamicUser') === 'yes' || (one('User') !== undefined && one('User') !== 'root')).toBe(true);
    expect(one('User')).toBe('clinicpro-gateway');
    expect(one('ExecStart')).toBe(`/usr/bin/node ${GATEWAY_NODE_FLAGS.join(' ')} /opt/clinicpro-gateway/dist/gateway/server.mjs`);
    expect(one('EnvironmentFile')).toBe('/etc/clinicpro-gateway/gateway.env');
    expect(read('clinicpro-gateway.service')).not.toMatch(/ALEX_CLIENT_SECRET/);
  });

  it('is hardened and may write only its data directory', () => {
    expect(one('NoNewPrivileges')).toBe('yes');
    expect(one('ProtectSystem')).toBe('strict');
    expect(one('ProtectHome')).toBe('yes');
    expect(one('PrivateTmp')).toBe('yes');
    expect(one('CapabilityBoundingSet')).toBe('');
    const dataDir = service.get('Environment')?.find((e) => e.startsWith('GATEWAY_DATA_DIR='))?.split('=')[1];
    expect(dataDir).toBe('/var/lib/clinicpro-gateway');
    expect(one('ReadWritePaths')).toBe(dataDir);
    expect(one('MemoryDenyWriteExecute')).toBeUndefined(); // V8 needs W+X pages
  });

  it('restarts on failure but not on a configuration error (exit 78), and stops gracefully', () => {
    expect(one('Restart')).toBe('on-failure');
    expect(one('RestartPreventExitStatus')).toBe('78');
    expect(one('KillSignal')).toBe('SIGTERM');
    expect(Number(one('TimeoutStopSec'))).toBeGreaterThan(20); // > SHUTDOWN_GRACE_SECONDS default
    expect(unit.get('Install')?.get('WantedBy')).toEqual(['multi-user.target']);
  });

  it('passes systemd-analyze verify with no unknown or misspelt keys', () => {
    const which = spawnSync('sh', ['-c', 'command -v systemd-analyze']);
    if (which.status !== 0) return expect.soft(which.status, 'systemd-analyze is not installed here').toBe(0);
    const dir = mkdtempSync(join(tmpdir(), 'unit-'));
    try {
      writeFileSync(join(dir, 'clinicpro-gateway.service'), read('clinicpro-gateway.service'));
      const good = spawnSync('systemd-analyze', ['verify', '--man=no', join(dir, 'clinicpro-gateway.service')], { encoding: 'utf8' });
      expect(good.status).toBe(0);
      expect(good.stderr.split('\n').filter((l) => l.includes('clinicpro-gateway.service'))).toEqual([]);
      // The check can fail: a misspelt key is reported.
      writeFileSync(join(dir, 'bad.service'), read('clinicpro-gateway.service').replace('NoNewPrivileges=', 'NoNewPrivilege='));
      const bad = spawnSync('systemd-analyze', ['verify', '--man=no', join(dir, 'bad.service')], { encoding: 'utf8' });
      expect(bad.stderr).toMatch(/Unknown key 'NoNewPrivilege'/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('compose example, load balancer and monitoring', () => {
  const compose = parse(read('compose', 'docker-compose.yml')) as { services: Record<string, Record<string, any>> }; // eslint-disable-line @typescript-eslint/no-explicit-any
  const gw = compose.services.gateway ?? {};

  it('runs several gateway replicas on the production image, sharing Redis, behind the load balancer only', () => {
    expect(gw.build).toEqual({ context: '../../..', dockerfile: 'gateway/deploy/Dockerfile' });
    expect(gw.deploy.replicas).toBeGreaterThanOrEqual(2);
    expect(gw.environment.REDIS_URL).toBe('redis://redis:6379');
    // Forwarded headers only from the load balancer's fixed address (a client's own X-Forwarded-For is never believed).
    expect(gw.environment.GATEWAY_TRUST_PROXY).toBeUndefined();
    expect(gw.environment.GATEWAY_TRUSTED_PROXIES).toBe(`${compose.services.lb?.networks.internal.ipv4_address}/32`);
    expect(gw.ports).toBeUndefined();
    expect(gw.depends_on.redis.condition).toBe('service_healthy');
    expect(gw.read_only).toBe(true);
    expect(gw.cap_drop).toEqual(['ALL']);
    expect(compose.services.lb?.ports).toEqual(['443:8443']);
    expect(compose.services.redis?.command.join(' ')).toMatch(/--appendonly yes/);
  });

  it('will not start the replicas without GATEWAY_PUBLIC_URL (behind the load balancer, DPoP proofs are signed for it)', () => {
    // Compose's ${VAR:?message} stops `docker compose up` with the message when the variable is unset.
    expect(gw.environment.GATEWAY_PUBLIC_URL).toMatch(/^\$\{GATEWAY_PUBLIC_URL:\?[^}]+\}$/);
  });

  it('balances on /readyz over every replica and never serves /metrics publicly', () => {
    const cfg = read('compose', 'haproxy.cfg');
    expect(cfg).toMatch(/^\s*option httpchk GET \/readyz$/m);
    expect(cfg).toMatch(/^\s*server-template gw \d+ gateway:47700$/m);
    expect(cfg).toMatch(/^\s*http-request deny if \{ path_beg \/metrics \}$/m);
    expect(cfg).toMatch(/^\s*retries 0$/m);
    // X-Forwarded-For is replaced by the connection's address, never appended to (option forwardfor alone appends).
    expect(cfg).toMatch(/^\s*http-request del-header X-Forwarded-For$/m);
    expect(cfg).toMatch(/^\s*http-request set-header X-Forwarded-For %\[src\]$/m);
    expect(cfg).not.toMatch(/^\s*option forwardfor/m);
    const prom = parse(read('compose', 'prometheus.yml')) as { scrape_configs: { dns_sd_configs: { names: string[]; port: number }[] }[] };
    expect(prom.scrape_configs[0]?.dns_sd_configs[0]).toMatchObject({ names: ['gateway'], port: 9464 });
  });

  it('alerts only on metrics the gateway exports, and each alert has a runbook section', async () => {
    const names = metricNames(await new GatewayMetrics().text());
    const rules = (parse(read('compose', 'alerts.yml')) as { groups: { rules: { alert: string; expr: string; annotations: { runbook: string } }[] }[] }).groups.flatMap((g) => g.rules);
    expect(rules.length).toBeGreaterThanOrEqual(6);
    const runbook = read('RUNBOOK.md').toLowerCase();
    for (const rule of rules) {
      for (const used of rule.expr.match(/clinicpro_gateway_[a-z_]+/g) ?? []) {
        expect(names, `${rule.alert} uses ${used}`).toContain(used.replace(/_(bucket|sum|count)$/, ''));
      }
      expect(rule.annotations.runbook).toBe(`RUNBOOK.md#${rule.alert.toLowerCase()}`);
      expect(runbook, `RUNBOOK.md has a "### ${rule.alert}" section`).toContain(`### ${rule.alert.toLowerCase()}`);
    }
  });
});

describe('gateway.env.example', () => {
  it('names only variables the gateway reads, and holds no real secret', () => {
    const text = read('gateway.env.example');
    const known = new Set([...Object.keys(EnvSchema.properties), 'METRICS_HOST', 'METRICS_PORT', 'METRICS_ENABLED']);
    const vars = [...text.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1] ?? '');
    expect(vars.length).toBeGreaterThan(8);
    for (const v of vars) expect(known, v).toContain(v);
    expect(text).toMatch(/^ALEX_CLIENT_SECRET=<secret>$/m);
    // Set, not commented out: a VM behind a TLS proxy needs it as much as the compose replicas do.
    expect(text).toMatch(/^GATEWAY_PUBLIC_URL=https:\/\//m);
  });
});
