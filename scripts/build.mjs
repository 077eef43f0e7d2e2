// Bundles the CLI, the engine process and the extension host code with esbuild, and copies the wasm binaries
// of the TensorFlow.js wasm backend next to the bundles (the backend loads them from its own folder).
import * as esbuild from 'esbuild';
import * as fs from 'fs';
import * as path from 'path';

const root = path.dirname(path.dirname(new URL(import.meta.url).pathname));
const dist = path.join(root, 'dist');
const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

// Native or huge packages stay in node_modules: sharp (libvips binaries), the optional TensorFlow native
// backends (installed by the user), vscode (provided by the host).
// tsx is only resolved when running from source (tests), never from a bundle.
const external = ['vscode', 'sharp', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'onnxruntime-node', 'tsx/cjs'];

const entries = [
  { in: 'src/cli/main.ts', out: 'cli' },
  { in: 'src/engine/main.ts', out: 'engine' },
  { in: 'src/train/gradientWorker.ts', out: 'gradient-worker' },
  { in: 'src/extension/extension.ts', out: 'extension' },
].filter((e) => fs.existsSync(path.join(root, e.in)));

const options = {
  absWorkingDir: root,
  entryPoints: entries.map((e) => ({ in: e.in, out: e.out })),
  outdir: dist,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  external,
  logLevel: 'warning',
  // tfjs packages register backends and gradients as import side effects that their "sideEffects" lists miss
  ignoreAnnotations: true,
};

fs.mkdirSync(dist, { recursive: true });
const wasmDir = path.join(root, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist');
for (const f of fs.readdirSync(wasmDir).filter((f) => f.endsWith('.wasm'))) fs.copyFileSync(path.join(wasmDir, f), path.join(dist, f));

const webviews = path.join(root, 'webview', 'build.mjs');
if (fs.existsSync(webviews)) await (await import(webviews)).buildWebviews({ root, dist, watch, production });

if (watch) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
  console.log('watching for changes');
} else {
  await esbuild.build(options);
}
