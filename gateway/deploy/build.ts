/**
 * `npm run gateway:build`: bundles the gateway for production with esbuild:
 *   dist/gateway/server.mjs   the server (`npm run gateway:start`, the Docker CMD, the systemd ExecStart)
 *   dist/gateway/admin.mjs    the operator CLI (`node dist/gateway/admin.mjs <command>`)
 *   dist/gateway/sqlite-worker.mjs  the embedded store's writer thread, loaded by both from beside them
 * npm packages stay external (installed with `npm ci --omit=dev`); only our TypeScript is bundled, so
 * production runs plain Node with no TypeScript loader.
 */
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

export const GATEWAY_ENTRIES = {
  server: 'gateway/src/server.ts',
  admin: 'gateway/src/admin/cli.ts',
  // SqliteStore starts it as `new URL('./sqlite-worker.mjs', import.meta.url)`: it must sit beside the two above.
  'sqlite-worker': 'gateway/src/store/sqlite-worker.ts',
} as const;

/** `entries`: other entry points built the same way (the gateway benchmark bundles its gateway process). */
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
  process.stdout.write('dist/gateway/server.mjs, admin.mjs and sqlite-worker.mjs built\n');
}
