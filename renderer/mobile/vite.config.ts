import { defineConfig } from 'vite';

/**
 * The phone upload page: its own self-contained build, served by the companion's LAN server at /m/.
 * Plain TypeScript and CSS (no framework) keeps the page small for phones on busy practice Wi-Fi.
 * Output: dist/renderer/mobile/index.html + dist/renderer/mobile/assets/. `base: './'` keeps asset URLs
 * relative (/m/ → /m/assets/…). The LAN server's CSP allows same-origin scripts and styles only, so nothing
 * is inlined and no module-preload polyfill (an inline script) is emitted.
 */
const root = decodeURIComponent(new URL('.', import.meta.url).pathname);
const outDir = decodeURIComponent(new URL('../../dist/renderer/mobile/', import.meta.url).pathname);

export default defineConfig({
  root,
  base: './',
  publicDir: false,
  build: {
    outDir,
    emptyOutDir: true,
    assetsDir: 'assets',
    assetsInlineLimit: 0,
    cssCodeSplit: false,
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: ['es2020', 'safari14', 'chrome90'],
  },
});
