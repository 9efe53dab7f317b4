/**
 * `npm run gateway:build`: bundles the gateway for production with esbuild:
 *   dist/gateway/server.mjs   the server (`npm run gateway:start`, the Docker CMD, the systemd ExecStart)
 *   dist/gateway/admin.mjs    the operator CLI (`node dist/gateway/admin.mjs <command>`)
 * npm packages stay external (installed with `npm ci --omit=dev`); only our TypeScript is bundled, so
 * production runs plain Node with no TypeScript loader.
 */
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const GATEWAY_ENTRIES = { server: 'gateway/src/server.ts', admin: 'gateway/src/admin/cli.ts' };

/**
 * The Node flags production starts the server with (Docker CMD, systemd ExecStart, `npm run gateway:start`;
 * test/ship holds all three to this list). Why each V8 flag, with its measurement: docs/PERFORMANCE.md.
 */
export const GATEWAY_NODE_FLAGS = ['--enable-source-maps', '--initial-old-space-size=64', '--max-semi-space-size=4'] as const;

/** `entries`: other entry points built the same way (the gateway benchmark's gateway process). */
export async function buildGatewayBundle(outdir = 'dist/gateway', entries: Record<string, string> = GATEWAY_ENTRIES): Promise<void> {
  await build({
    entryPoints: entries,
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    packages: 'external',
    sourcemap: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildGatewayBundle(process.argv[2]);
  process.stdout.write('dist/gateway/server.mjs and admin.mjs built\n');
}
