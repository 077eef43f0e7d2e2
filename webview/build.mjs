// Bundles each webview (webview/<name>/main.ts and the CSS it imports) for the browser into
// dist/webview/<name>.js and dist/webview/<name>.css. Called by scripts/build.mjs.
import * as esbuild from 'esbuild';
import * as path from 'path';

export const WEBVIEWS = ['dashboard', 'gallery', 'trajectory', 'latent', 'grid', 'inspector', 'lab'];

export async function buildWebviews({ root, dist, watch = false, production = false }) {
  const options = {
    absWorkingDir: root,
    entryPoints: WEBVIEWS.map((name) => ({ in: path.join('webview', name, 'main.ts'), out: name })),
    outdir: path.join(dist, 'webview'),
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: ['chrome114'],
    sourcemap: production ? false : 'inline',
    minify: production,
    logLevel: 'warning',
  };
  if (watch) {
    const ctx = await esbuild.context(options);
    await ctx.watch();
  } else {
    await esbuild.build(options);
  }
}
