#!/usr/bin/env node
// The `jit` command: runs the bundled CLI in dist/. In a source checkout it first builds dist/ when the bundle is
// missing or older than a source file, so `npm run jit -- <command>` works right after `npm ci` and after any edit.
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.join(__dirname, '..');
const cli = path.join(root, 'dist', 'cli.js');
const buildScript = path.join(root, 'scripts', 'build.mjs');
const sources = ['src', 'webview', 'scripts', 'package.json', 'package-lock.json'].map((p) => path.join(root, p));

/** Modification time of the newest file under `p` (0 when `p` does not exist). */
function newest(p) {
  let stat;
  try {
    stat = fs.statSync(p);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.mtimeMs;
  return fs.readdirSync(p).reduce((m, name) => Math.max(m, newest(path.join(p, name))), 0);
}

function builtAt() {
  try {
    return fs.statSync(cli).mtimeMs;
  } catch {
    return -1;
  }
}

if (fs.existsSync(buildScript) && builtAt() < Math.max(...sources.map(newest))) {
  // Progress goes to stderr: stdout stays the command's own (e.g. its --json output).
  process.stderr.write(fs.existsSync(cli) ? 'jit: source changed since the last build; building dist/ ...\n' : 'jit: dist/ is not built yet; building it ...\n');
  const r = spawnSync(process.execPath, [buildScript], { cwd: root, stdio: ['ignore', 2, 2] });
  if (r.status !== 0) {
    process.stderr.write(`jit: building dist/ failed (${r.error ? r.error.message : `exit code ${r.status}`}); fix the error above and run the command again.\n`);
    process.exit(1);
  }
}
require(cli);
