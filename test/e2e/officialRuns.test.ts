/**
 * Official runs in a real VS Code (code-server in Chromium, see harness.ts): an output folder of the official
 * main_jit.py (its real checkpoint-last.pth and event files logged as engine_jit.py logs) inside a folder that
 * jit.extraRunFolders names, next to a local run. It shows in the Runs tree with its model and epoch; its dashboard
 * draws train_loss from the event files and follows them as they grow; "JiT: Sample Images" samples its checkpoint into
 * the gallery. Screenshots go to test-results/e2e/.
 *
 *   bash test/e2e/setup.sh   # once
 *   npx mocha --no-config --require tsx/cjs --timeout 900000 test/e2e/officialRuns.test.ts
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import type { Frame, Page } from 'playwright-core';
import { defaultCodeServerBin, findFrame, runCommand } from './harness';
import { Session, cleanScreenshot, openSession, packageExtension, quickInput, requireCodeServer, trainTinyRun, until, RUNS_VIEW, recordFailure } from './setupExtension';
import { logOfficialEpochs, makeOfficialRun } from '../unit/officialFixture';

const RUN = 'b16-cluster-run';

async function lossPoints(frame: Frame): Promise<number> {
  return Number(await frame.locator('#loss-chart').getAttribute('data-points', { timeout: 2_000 }).catch(() => NaN));
}

describe('Official runs in a real VS Code', function () {
  this.timeout(900_000);
  const bin = defaultCodeServerBin();
  let s: Session | undefined;
  let page: Page;
  let officialDir = '';
  let localRun = '';

  before(async function () {
    requireCodeServer(this, bin);
    packageExtension();
    s = await openSession(bin, 'jit-e2e-official-', (ws) => {
      officialDir = makeOfficialRun(path.join(ws, 'cluster-sync', RUN));
      localRun = trainTinyRun(ws);
    }, { 'jit.extraRunFolders': ['cluster-sync'] });
    page = s.page;
  });

  afterEach(async function () {
    await recordFailure(this, page, 'official');
  });

  after(async function () {
    await s?.close();
  });

  it('shows the official run in the Runs tree next to the local one, with its model, epoch and checkpoint', async function () {
    await runCommand(page, 'jit.runs.focus', RUNS_VIEW);
    const tree = page.locator('.part.sidebar .monaco-list');
    await tree.locator('.monaco-list-row', { hasText: path.basename(localRun) }).first().waitFor({ state: 'visible', timeout: 60_000 });
    const row = tree.locator('.monaco-list-row', { hasText: RUN }).first();
    await row.waitFor({ state: 'visible', timeout: 60_000 });
    await until('the official run\'s description', async () => (/official · JiT-golden · epoch 2/.test(await row.innerText()) ? true : undefined), 60_000);
    if ((await row.getAttribute('aria-expanded')) !== 'true') await row.click();
    await tree.locator('.monaco-list-row', { hasText: 'checkpoint-last.pth' }).first().waitFor({ state: 'visible', timeout: 30_000 });
    await cleanScreenshot(page, 'official-runs-tree');
  });

  let frame: Frame;

  it('opens its dashboard: train_loss from the event files, by epoch, args as the configuration, followed live', async function () {
    const row = page.locator('.part.sidebar .monaco-list .monaco-list-row', { hasText: RUN }).first();
    await row.hover();
    await row.locator('.action-label[aria-label^="Open Dashboard"]').click();
    frame = await until('the official run\'s dashboard', async () => {
      const f = await findFrame(page, '#loss-chart', 60_000);
      return (await f.locator('h1').innerText().catch(() => '')) === `official/${RUN}` ? f : undefined;
    }, 120_000);
    await until('15 loss points', async () => ((await lossPoints(frame)) === 15 ? true : undefined), 60_000);
    assert.strictEqual(await frame.locator('#x-axis').inputValue(), 'epoch');
    const config = await frame.locator('table.config').innerText();
    for (const re of [/model\s+JiT-golden/, /blr\s+5\.00e-5/, /batch_size\s+4/]) assert.match(config, re);
    // The official code goes on logging: the dashboard follows the event files.
    logOfficialEpochs(officialDir, 3, 4);
    await until('20 loss points', async () => ((await lossPoints(frame)) === 20 ? true : undefined), 60_000);
    await cleanScreenshot(page, 'official-dashboard');
  });

  it('"JiT: Sample Images" samples its checkpoint-last.pth into the gallery and its output folder', async function () {
    await runCommand(page, 'jit.sample', { quickInput: 'from which checkpoint' });
    await quickInput(page, RUN, 'Sample Images — from which checkpoint');
    await quickInput(page, 'Euler', 'Sample Images from');
    const gallery = await findFrame(page, '.fresh canvas.tile', 300_000);
    assert.strictEqual(await gallery.locator('.fresh canvas.tile').count(), 16);
    const samples = path.join(officialDir, 'samples');
    assert.ok(fs.readdirSync(samples).some((f) => /^step-2-euler20-cfg1-ema1-seed\d+\.png$/.test(f)), `the grid is in the output folder: ${fs.readdirSync(samples).join(', ')}`);
    await cleanScreenshot(page, 'official-gallery');
  });
});
