// The `jit` command as the README documents it: `npm run jit -- <command>`, run through npm in a real child process,
// in this checkout and in a fresh copy whose dist/ was never built (as right after `npm ci`).
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { GOLDEN, tempDir } from './helpers';

const ROOT = path.join(__dirname, '..', '..');

function npmRunJit(cwd: string, args: string[]) {
  const r = spawnSync('npm', ['run', 'jit', '--', ...args], { cwd, encoding: 'utf8', env: { ...process.env, JIT_BACKEND: 'wasm' }, timeout: 300_000, shell: process.platform === 'win32' });
  return { code: r.status, out: r.stdout, err: r.stderr, all: `${r.stdout}\n${r.stderr}${r.error ? `\n${r.error.message}` : ''}` };
}

/** A copy of the checkout without dist/ (and without the tests), sharing this checkout's node_modules. */
function freshCheckout(): string {
  const dir = tempDir('jit-checkout-');
  for (const name of fs.readdirSync(ROOT)) {
    if (['node_modules', 'dist', 'test', '.git'].includes(name)) continue;
    fs.cpSync(path.join(ROOT, name), path.join(dir, name), { recursive: true });
  }
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return dir;
}

describe('the documented `jit` invocation', function () {
  it('the README and docs show `npm run jit -- <command>` and never `npx jit`', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    assert.match(readme, /`npm run jit -- <command>`/);
    const docs = fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => path.join('docs', f));
    for (const file of ['README.md', 'CHANGELOG.md', ...docs]) {
      const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
      assert.doesNotMatch(text, /npx jit/, `${file} still says \`npx jit\`, which does nothing inside this repository with npm 11`);
    }
  });

  it('`npm run jit -- info` prints the engines and presets', () => {
    const r = npmRunJit(ROOT, ['info']);
    assert.strictEqual(r.code, 0, r.all);
    assert.match(r.out, /^backend: +wasm/m);
    assert.match(r.out, /^training: /m);
    assert.match(r.out, /JiT-Ti\/16/);
  });

  it('in a checkout whose dist/ was never built, builds it first, then only when a source file changed', () => {
    const dir = freshCheckout();
    const first = npmRunJit(dir, ['inspect', GOLDEN, '--json']);
    assert.strictEqual(first.code, 0, first.all);
    assert.match(first.err, /dist\/ is not built yet; building it/);
    assert.ok(fs.existsSync(path.join(dir, 'dist', 'cli.js')));
    // The build's progress went to stderr: stdout is the command's JSON, after npm's two header lines.
    const json = JSON.parse(first.out.slice(first.out.indexOf('{')));
    assert.ok(Object.keys(json).length > 0, first.out);

    const second = npmRunJit(dir, ['info']);
    assert.strictEqual(second.code, 0, second.all);
    assert.doesNotMatch(second.err, /building/);

    const later = new Date(Date.now() + 2000);
    fs.utimesSync(path.join(dir, 'src', 'cli', 'main.ts'), later, later);
    const third = npmRunJit(dir, ['info']);
    assert.strictEqual(third.code, 0, third.all);
    assert.match(third.err, /source changed since the last build; building dist\//);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a source file that does not compile: one line says the build failed, and the command does not run', () => {
    const dir = freshCheckout();
    fs.appendFileSync(path.join(dir, 'src', 'cli', 'main.ts'), '\nconst = ;\n');
    const r = npmRunJit(dir, ['info']);
    assert.notStrictEqual(r.code, 0, r.all);
    assert.match(r.err, /jit: building dist\/ failed \(exit code 1\); fix the error above and run the command again\./);
    assert.doesNotMatch(r.out, /^backend:/m);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
