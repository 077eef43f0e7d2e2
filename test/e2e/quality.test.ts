/**
 * Sample quality in a real VS Code (code-server in Chromium, see harness.ts): two tiny runs written by the CLI with
 * a quality evaluation after every step; the dashboard's "Sample quality" card shows the Fréchet distance with its
 * floor, class accuracy and the seam score, overlays the other run's FD, and the Runs tree shows each run's best FD.
 * Screenshots in the dark, light and high-contrast themes go to test-results/e2e/.
 *
 *   bash test/e2e/setup.sh   # once
 *   npx mocha --no-config --require tsx/cjs --timeout 900000 test/e2e/quality.test.ts
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import type { Page } from 'playwright-core';
import { spawnSync } from 'child_process';
import { REPO_ROOT, defaultCodeServerBin, findFrame, runCommand } from './harness';
import { Session, cleanScreenshot, openSession, packageExtension, requireCodeServer, setColorTheme, until, RUNS_VIEW, recordFailure } from './setupExtension';
import { sharedFeaturesDir, useWasm } from '../unit/helpers';

const THEMES: [string, string][] = [['Dark Modern', 'dark'], ['Light Modern', 'light'], ['Dark High Contrast', 'high-contrast']];
/** JiT-Ti/16 (64 px, the shapes' cached feature network), a quality evaluation of 8 samples after each of the 2 steps. */
const QUALITY_RUN = ['--preset', 'JiT-Ti/16', '--steps', '2', '--batch', '2', '--checkpoint-every', '2', '--eval-every', '1', '--eval-n', '8', '--eval-steps', '2', '--preview-n', '2', '--preview-steps', '2'];

describe('Sample quality in a real VS Code', function () {
  this.timeout(900_000);
  const bin = defaultCodeServerBin();
  let s: Session | undefined;
  let page: Page;
  const runs: string[] = [];

  before(async function () {
    requireCodeServer(this, bin);
    await useWasm();
    const features = await sharedFeaturesDir();
    packageExtension();
    s = await openSession(bin, 'jit-e2e-quality-', (ws) => {
      const root = path.join(ws, '.jit', 'runs');
      fs.cpSync(features, path.join(root, '.features'), { recursive: true }); // the runs folder's feature cache
      for (const seed of ['0', '1']) {
        const before = new Set(fs.readdirSync(root));
        const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'jit.js'), 'train', ...QUALITY_RUN, '--seed', seed, '--out', root], { encoding: 'utf8', timeout: 300_000 });
        assert.strictEqual(r.status, 0, `jit train failed:\n${r.stdout}\n${r.stderr}`);
        runs.push(path.join(root, fs.readdirSync(root).find((f) => !before.has(f))!));
      }
    });
    page = s.page;
  });

  afterEach(async function () {
    await recordFailure(this, page, 'quality');
  });

  after(async function () {
    await s?.close();
  });

  it('the CLI wrote a quality record after every step', () => {
    for (const dir of runs) {
      const records = fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => typeof r.fd === 'number');
      assert.deepStrictEqual(records.map((r) => r.step), [1, 2], dir);
    }
  });

  it('the dashboard\'s Sample quality card shows FD with its floor, overlays another run, in three themes', async function () {
    await runCommand(page, 'jit.openDashboard', { tab: /^JiT/ });
    const frame = await findFrame(page, '#quality-card #fd-chart canvas', 120_000);
    await until('both evaluations in the FD chart', async () => ((await frame.locator('#fd-chart').getAttribute('data-points')) === '2' ? true : undefined), 60_000);
    // The latest preview grid is read from the run's folder, which the webview may load from.
    await until('the latest preview grid drawn in the dashboard', async () => ((await frame.locator('#sample-image').evaluate((el) => { const img = el as unknown as { complete: boolean; naturalWidth: number }; return img.complete && img.naturalWidth > 0; }).catch(() => false)) ? true : undefined), 30_000);
    const summary = await frame.locator('#quality-summary').innerText();
    assert.match(summary, /^Step 2: FD [\d.]+ \(floor [\d.]+\) · class accuracy [\d.]+% · precision [\d.]+ · recall [\d.]+ · seam [\d.—]+ · best FD [\d.]+ at step [12]$/, summary);
    // Drawn, not only labelled: the plot spans the card (a chart that failed half-way leaves a narrow legend behind).
    const wrap = await frame.locator('#fd-chart .u-wrap').boundingBox();
    assert.ok(wrap && wrap.width > 300 && wrap.height > 150, `FD plot area ${JSON.stringify(wrap)}`);
    assert.match((await frame.locator('#fd-chart').getAttribute('aria-label')) ?? '', /with 2 measurements, latest [\d.]+ at step 2, floor [\d.]+/);
    // Overlay the other run: its FD joins the chart's legend.
    const title = await frame.locator('h1').innerText();
    const other = runs.map((r) => path.basename(r)).find((id) => id !== title)!;
    await frame.locator(`.compare input[value="${other}"]`).check();
    await until('the other run\'s FD in the legend', async () => ((await frame.locator('#fd-chart .u-legend').innerText().catch(() => '')).includes(`${other} FD`) ? true : undefined), 30_000);
    await frame.locator('#quality-card').scrollIntoViewIfNeeded();
    for (const [label, suffix] of THEMES) {
      await setColorTheme(page, label);
      await cleanScreenshot(page, `quality-dashboard-${suffix}`);
    }
  });

  it('the Runs tree shows each run\'s best FD', async function () {
    await runCommand(page, 'jit.runs.focus', RUNS_VIEW);
    const tree = page.locator('.part.sidebar .monaco-list');
    for (const dir of runs) {
      const row = tree.locator('.monaco-list-row', { hasText: path.basename(dir) }).first();
      await row.waitFor({ state: 'visible', timeout: 30_000 });
      assert.match(await row.innerText(), /best FD [\d.]+/);
    }
  });
});
