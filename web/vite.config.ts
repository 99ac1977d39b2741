/**
 * Builds the agent's dashboard: `npm run build` (scripts/build.mjs, which `npm install`,
 * `npm test` and `npm pack` run too) writes `web/dist`, which `src/agent/dashboard.ts` loads and
 * the agent serves at `/`.
 * Asset URLs are relative (`base: './'`), so the page also works behind a path prefix.
 */
import { defineConfig } from 'vite';

export default defineConfig({
  base: './',
  logLevel: 'warn',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: true,
    // One small page: keep it to one script and no separate module-preload polyfill.
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 200,
  },
});
