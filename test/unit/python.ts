// Real Python for interop checks (Debian's python3-torch and python3-protobuf, which .ci/run installs). Where they
// are missing a test says so and is skipped, unless JIT_PYTHON_REQUIRED=1 (CI), where it fails instead.
import { spawnSync } from 'child_process';
import * as path from 'path';

export const PYTHON_DIR = path.join(__dirname, 'python');

const found = new Map<string, string | undefined>();

/** A python3 that imports every module in `modules` (Debian's first: a pyenv python on PATH lacks its packages). */
export function findPython(modules: string[]): string | undefined {
  const key = modules.join(',');
  if (!found.has(key)) {
    const candidates = ['/usr/bin/python3', 'python3'];
    found.set(key, candidates.find((py) => spawnSync(py, ['-c', modules.map((m) => `import ${m}`).join('; ')], { encoding: 'utf8' }).status === 0));
  }
  return found.get(key);
}

/** The python for this test, or a skip that names what is missing (a failure where CI requires it). */
export function pythonWith(ctx: Mocha.Context, modules: string[], debianPackages: string): string {
  const py = findPython(modules);
  if (py) return py;
  const message = `needs Python with ${modules.join(', ')} (apt-get install ${debianPackages})`;
  if (process.env.JIT_PYTHON_REQUIRED === '1') throw new Error(`This test ${message}, and JIT_PYTHON_REQUIRED=1.`);
  console.log(`      SKIPPED: ${message}`);
  ctx.skip();
}

/** Runs a script of test/unit/python and returns its stdout; a non-zero exit fails with its stderr. */
export function runPython(py: string, script: string, args: string[], timeoutMs = 600_000): string {
  const r = spawnSync(py, [path.join(PYTHON_DIR, script), ...args], { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${script} exited with ${r.status ?? r.signal}:\n${r.stderr}`);
  return r.stdout;
}
