import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/**
 * The renderer build: one multi-page Vite build rooted at renderer/.
 *   renderer/desktop/index.html → the GP's desktop window (Electron, or the browser host in development/tests)
 * The phone upload page (renderer/mobile) is a separate, self-contained build (renderer/mobile/vite.config.ts →
 * dist/renderer/mobile/) so the LAN server serves only its own small bundle, never the desktop's.
 * Output here: dist/renderer/desktop/index.html + dist/renderer/assets/. `base: './'` keeps every asset
 * URL relative, so the same files load from a file:// or app:// origin (Electron) and from the loopback host.
 */
const root = fileURLToPath(new URL('./renderer/', import.meta.url));
const page = (name: string): string => fileURLToPath(new URL(`./renderer/${name}/index.html`, import.meta.url));

const input: Record<string, string> = { desktop: page('desktop') };

export default defineConfig({
  root,
  base: './',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('./dist/renderer/', import.meta.url)),
    // The mobile build writes dist/renderer/mobile/ too: clear only what this build owns.
    emptyOutDir: false,
    // Strict CSP: no inline scripts or styles, no data: module preloads.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    rollupOptions: { input },
  },
});
