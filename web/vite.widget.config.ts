// The chat widget: one self-contained vanilla TypeScript file, widget.js, no framework.
import { defineConfig } from 'vite';

const out = process.env.THROUGHLINE_WEB_OUT || 'dist';

export default defineConfig({
  publicDir: false,
  build: {
    outDir: out,
    emptyOutDir: false,
    target: 'es2020',
    lib: {
      entry: 'widget/main.ts',
      name: 'ThroughlineWidget',
      formats: ['iife'],
      fileName: () => 'widget.js',
    },
  },
});
