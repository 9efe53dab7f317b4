/**
 * `npm run gateway:build`: bundles the gateway for production with esbuild:
 *   dist/gateway/server.mjs   the server (`npm run gateway:start`, the Docker CMD, the systemd ExecStart)
 *   dist/gateway/admin.mjs    the operator CLI (`node dist/gateway/admin.mjs <command>`)
 * npm packages stay external (installed with `npm ci --omit=dev`); only our TypeScript is bundled, so
 * production runs plain Node with no TypeScript loader.
 */
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

export const GATEWAY_ENTRIES = {
  server: 'gateway/src/server.ts',
  admin: 'gateway/src/admin/cli.ts',
} as const;

/**
 * The Node flags production starts the server with: `node <these> dist/gateway/server.mjs` in the Docker
 * CMD, the systemd ExecStart and `npm run gateway:start` (test/ship holds all three to this list), and in
 * the gateway benchmark's gateway process.
 *
 * - `--initial-old-space-size=64`: V8 counts every ArrayBuffer allocated since its last full collection
 *   (each commit body is one of ~1.3 MB) against the old generation's limit, and sizes that limit from the
 *   live heap, which is only ~20 MB here. So with V8's defaults a full mark-compact ran every ~5 commits,
 *   and the event loop stopped 2–10 ms each time. An initial old space lets V8 skip full collections below
 *   it. Measured in one 30 s round at 100 devices, ALEX 1 s per write, with and without: full GCs 178 → 11,
 *   CPU per commit 18.1 → 10.0 ms, overhead p99 54.7 → 18.7 ms (docs/PERFORMANCE.md).
 * - `--max-semi-space-size=4`: the young generation's halves stop at 4 MB instead of 16. Commit bodies are
 *   ArrayBuffers outside the V8 heap, so a larger nursery saves little work and costs RSS: 279 MB at 100
 *   devices with both flags, 296 MB without either (one round each, ALEX 1 s per write, 2026-11-23).
 */
export const GATEWAY_NODE_FLAGS = ['--enable-source-maps', '--initial-old-space-size=64', '--max-semi-space-size=4'] as const;

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
  process.stdout.write('dist/gateway/server.mjs and admin.mjs built\n');
}
