// Runs the extension's integration suite in a VS Code downloaded by @vscode/test-electron (for CI machines with
// internet access; the end-to-end suite in test/e2e covers machines without it). Usage:
//   npm run test:vscode            build the suite, download VS Code (cached in .vscode-test/), run it
//   node test/vscode/runTests.mjs --build-only
import * as esbuild from 'esbuild';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const here = path.dirname(new URL(import.meta.url).pathname);
const root = path.resolve(here, '..', '..');
const out = path.join(here, 'out');

await esbuild.build({
  absWorkingDir: root,
  entryPoints: [path.join(here, 'suite', 'index.ts'), path.join(here, 'suite', 'extension.test.ts')],
  outdir: path.join(out, 'suite'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  external: ['vscode', 'mocha'],
  logLevel: 'warning',
});
if (process.argv.includes('--build-only')) process.exit(0);

const { runTests } = await import('@vscode/test-electron');
// A fresh copy of the workspace each run, so no runs from an earlier test run are found.
const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'jit-vscode-test-'));
fs.cpSync(path.join(here, 'workspace'), workspace, { recursive: true });
try {
  await runTests({
    extensionDevelopmentPath: root,
    extensionTestsPath: path.join(out, 'suite', 'index.js'),
    launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust'],
  });
} catch (e) {
  console.error(`The VS Code integration tests failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
} finally {
  fs.rmSync(workspace, { recursive: true, force: true });
}
