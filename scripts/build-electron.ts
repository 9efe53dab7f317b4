/**
 * Bundles the Electron main process and the preload for packaging:
 *   dist/electron/main.cjs     (Node, electron + native modules external)
 *   dist/electron/preload.cjs  (sandboxed preload: only `electron` may stay external)
 * `npm run build:electron`. electron-builder then packs dist/ (see electron-builder.yml).
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { loadKeytar } from '../electron/secrets/keytar-store';

/** Native or binary-carrying modules that electron-builder unpacks from the asar and loads at run time. */
export const NATIVE_EXTERNALS = ['electron', 'keytar', 'better-sqlite3', 'sharp', 'libheif-js', 'bonjour-service'];

export async function buildElectron(outdir = 'dist/electron'): Promise<void> {
  const common = { outdir, outExtension: { '.js': '.cjs' }, bundle: true, platform: 'node', format: 'cjs', logLevel: 'warning' } as const;
  await build({
    ...common,
    entryPoints: { main: 'electron/main/index.ts' },
    target: 'node22',
    sourcemap: true,
    external: NATIVE_EXTERNALS,
    // ESM sources read import.meta.url (e.g. to find the HEIC worker next to them): give the bundle its own.
    define: { 'import.meta.url': '__bundleUrl' },
    banner: { js: 'const __bundleUrl = require("node:url").pathToFileURL(__filename).href;' },
  });
  // Worker files are loaded by path at run time, beside the bundle.
  await mkdir(outdir, { recursive: true });
  await copyFile('electron/imaging/heic-worker.mjs', `${outdir}/heic-worker.mjs`);
  await build({ ...common, entryPoints: { preload: 'electron/preload/index.ts' }, target: 'chrome140', external: ['electron'] });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildElectron();
  console.log('dist/electron/main.cjs and preload.cjs built');
  const keytar = loadKeytar();
  // keytar is optional at install; an installed app without it refuses to start (electron/secrets/README.md).
  if (!keytar.ok) console.warn(`WARNING: ${keytar.reason}. A package made from this checkout would refuse to start: do not ship it.`);
}
