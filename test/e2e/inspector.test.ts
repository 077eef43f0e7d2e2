/**
 * The tensor inspector and the Manifold Lab in a real VS Code (code-server in Chromium, see harness.ts):
 * double-click a checkpoint in the explorer and see its tensor tree, numbers, histogram and heatmap; open the
 * Manifold Lab and run a tiny experiment (2 dimensions x 2 targets) to its grid; screenshots in the dark, light
 * and high-contrast themes go to test-results/e2e/.
 *
 *   bash test/e2e/setup.sh   # once
 *   npx mocha --no-config --require tsx/cjs --timeout 900000 test/e2e/inspector.test.ts
 */
import * as assert from 'assert';
import * as path from 'path';
import type { Frame, Page } from 'playwright-core';
import { defaultCodeServerBin, findFrame, notifications, runCommand, screenshot, sleep } from './harness';
import { Session, cleanScreenshot, openSession, packageExtension, setColorTheme, until, requireCodeServer, trainTinyRun } from './setupExtension';

const THEMES: [string, string, string][] = [['Light Modern', 'vscode-light', 'light'], ['Dark High Contrast', 'vscode-high-contrast', 'high-contrast'], ['Dark Modern', 'vscode-dark', 'dark']];

/** Clicks an explorer row by its exact label (single click expands a folder; double-click opens a file). */
async function explorerRow(page: Page, label: string, action: 'click' | 'dblclick'): Promise<void> {
  const exact = new RegExp(`^\\s*${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);
  const row = page.locator('.explorer-folders-view .monaco-list-row').filter({ has: page.locator('.label-name', { hasText: exact }) }).first();
  await row.waitFor({ state: 'visible', timeout: 60_000 });
  if (action === 'dblclick') {
    await row.dblclick();
    await sleep(400);
    return;
  }
  // The tree re-renders while folders expand, so a click can land while rows move: click until it took.
  for (let attempt = 0; attempt < 5; attempt++) {
    if ((await row.getAttribute('aria-expanded')) === 'true') return;
    await row.click();
    for (let i = 0; i < 10 && (await row.getAttribute('aria-expanded')) !== 'true'; i++) await sleep(300);
  }
  if ((await row.getAttribute('aria-expanded')) !== 'true') throw new Error(`the explorer folder ${label} did not expand`);
}

describe('Tensor inspector and Manifold Lab in a real VS Code', function () {
  this.timeout(900_000);
  const bin = defaultCodeServerBin();
  let s: Session | undefined;
  let page: Page;
  let runName = '';

  before(async function () {
    requireCodeServer(this, bin);
    packageExtension();
    s = await openSession(bin, 'jit-e2e-inspector-', (ws) => {
      runName = path.basename(trainTinyRun(ws, ['--sample-every', '1000', '--preview-steps', '2']));
    }, { 'explorer.compactFolders': false });
    page = s.page;
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && page && !page.isClosed()) {
      await screenshot(page, `inspector-failed-${this.currentTest.title}`).catch(() => undefined);
      console.log(`    notifications then: ${JSON.stringify(await notifications(page).catch(() => []))}`);
    }
  });

  after(async () => {
    await s?.close();
  });

  it('opens the inspector when a checkpoint is double-clicked in the explorer', async () => {
    await runCommand(page, 'workbench.view.explorer', { visible: '.explorer-folders-view' });
    for (const folder of ['.jit', 'runs', runName, 'checkpoints']) await explorerRow(page, folder, 'click');
    await explorerRow(page, 'step-2.safetensors', 'dblclick');
    const frame = await findFrame(page, '.jit-inspector nav.tree details.module', 120_000);
    assert.match(await frame.locator('h1').innerText(), /step-2\.safetensors/);
    assert.match(await frame.locator('header .meta').innerText(), /safetensors · .* tensors · [\d,]+ parameters/);
    // The module tree: top-level modules, with blocks collapsed.
    const modules = await frame.locator('.tree-body > details.module > summary .name').allInnerTexts();
    assert.ok(modules.includes('net'), `modules: ${modules.join(', ')}`);
    // Filter to the patch embedding and open its numbers, histogram, heatmap and filters.
    await frame.locator('nav.tree input[type="search"]').fill('proj1');
    await frame.locator('button.tensor[data-name="net.x_embedder.proj1.weight"]').click();
    await until('the tensor numbers', async () => ((await frame.locator('.detail table.stats').count()) > 0 ? true : undefined), 60_000);
    const stats = await frame.locator('.detail table.stats').innerText();
    assert.match(stats, /mean[\s\S]*std[\s\S]*L2 norm[\s\S]*NaN\s+0/);
    assert.ok((await frame.locator('.detail canvas.heatmap').count()) === 1, 'a heatmap');
    assert.ok((await frame.locator('.detail .filters canvas.tile').count()) > 0, 'patch filter tiles');
    // A 4-D weight has a slider for each axis not shown.
    assert.ok((await frame.locator('.slice-controls input[type="range"]').count()) === 2);
    await frame.locator('nav.tree input[type="search"]').fill('');

    // EMA against online weights: the sortable table of relative changes.
    await frame.locator('header button', { hasText: 'Compare EMA1 with online' }).click();
    await until('the comparison table', async () => ((await frame.locator('.compare-table tbody tr').count()) > 0 ? true : undefined), 120_000);
    await frame.evaluate('window.scrollTo(0, 0)');
    await shots(page, 'inspector', '.jit-inspector nav.tree');
  });

  it('runs a tiny Manifold Lab experiment (2 dimensions x 2 targets) to its grid', async () => {
    await runCommand(page, 'jit.openManifoldLab', { tab: 'Manifold Lab' });
    let frame: Frame = await findFrame(page, '.jit-lab form.controls', 120_000);
    await frame.locator('#lab-dims').fill('2, 16');
    await frame.locator('#lab-target-v').uncheck();
    await frame.locator('#lab-steps').fill('60');
    await frame.locator('button', { hasText: /^Run$/ }).click();
    await until('the run to start', async () => ((await frame.locator('.status').innerText()).trim() ? true : undefined), 120_000);
    await until('the finished grid', async () => ((await frame.locator('.cells figure.cell canvas').count()) === 4 ? true : undefined), 300_000);
    const distances = await frame.locator('.cells figcaption.distance').allInnerTexts();
    assert.strictEqual(distances.length, 4);
    for (const d of distances) assert.match(d, /^W1 = \d+\.\d{3}$/);
    assert.match(await frame.locator('.status').innerText(), /Done: 4 models/);
    frame = await findFrame(page, '.jit-lab .cells', 30_000);
    await shots(page, 'lab', '.jit-lab .cells');
  });
});

/** Screenshots in the three themes (ending on the dark one), after the page has redrawn in each. */
async function shots(page: Page, name: string, selector: string): Promise<void> {
  for (const [theme, cls, suffix] of THEMES) {
    await setColorTheme(page, theme);
    await findFrame(page, `body.${cls} ${selector}`, 60_000);
    await cleanScreenshot(page, `${name}-${suffix}`);
  }
}
