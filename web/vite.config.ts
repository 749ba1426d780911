/**
 * Build of the web console: `npm run build:web` (vite build --config web/vite.config.ts) writes
 * web/dist/, which `hikube up` serves under /console/. Pages and heavy widgets (xterm.js, noVNC,
 * the YAML editor) are lazy chunks so the first load stays small.
 */
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // noVNC uses top-level await; every browser the console supports has it.
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: true,
    // bench/console-bundle.ts reads it to measure the first load and each lazy chunk.
    manifest: true,
  },
  server: {
    // `npx vite --config web/vite.config.ts` during development: the API of a running `hikube up`.
    proxy: Object.fromEntries(
      ['/api', '/apis', '/version'].map((p) => [
        p,
        { target: process.env['HIKUBE_URL'] ?? 'https://127.0.0.1:6443', secure: false, ws: true },
      ]),
    ),
  },
});
