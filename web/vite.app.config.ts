// The agent web app: Svelte 5 + TypeScript, built into $THROUGHLINE_WEB_OUT (default dist/).
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

const out = process.env.THROUGHLINE_WEB_OUT || 'dist';

export default defineConfig({
  plugins: [svelte()],
  root: '.',
  base: '/',
  build: {
    outDir: out,
    emptyOutDir: false,
    manifest: true,
    target: 'es2022',
    assetsDir: 'assets',
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy: {
      '/api': { target: 'http://127.0.0.1:3000', ws: true },
      '/auth': 'http://127.0.0.1:3000',
      '/public': { target: 'http://127.0.0.1:3000', ws: true },
      '/attachments': 'http://127.0.0.1:3000',
    },
  },
});
