/**
 * The exploration views in a real VS Code (code-server in Chromium, see harness.ts): on a tiny run written by the
 * CLI, "JiT: Sample Images" with a few Heun steps, the Sample Gallery grouped by run and step, a click on a sample that
 * opens the trajectory viewer with one frame per step, and the latent viewer on the run's checkpoint; screenshots
 * in the dark, light and high-contrast themes go to test-results/e2e/.
 *
 *   bash test/e2e/setup.sh   # once
 *   npx mocha --no-config --require tsx/cjs --timeout 900000 test/e2e/views.test.ts
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import type { Frame, Page } from 'playwright-core';
import sharp from 'sharp';
import { defaultCodeServerBin, expectEffect, findFrame, notifications, runCommand } from './harness';
import { Session, cleanScreenshot, openSession, packageExtension, quickInput, setColorTheme, until, requireCodeServer, trainTinyRun, recordFailure } from './setupExtension';

const THEMES: [string, string][] = [['Dark Modern', 'dark'], ['Light Modern', 'light'], ['Dark High Contrast', 'high-contrast']];
const SAMPLE_STEPS = 5;

async function shots(page: Page, name: string): Promise<void> {
  for (const [label, suffix] of THEMES) {
    await setColorTheme(page, label);
    await cleanScreenshot(page, `${name}-${suffix}`);
  }
}

describe('Exploration views in a real VS Code', function () {
  this.timeout(900_000);
  const bin = defaultCodeServerBin();
  let s: Session | undefined;
  let page: Page;
  let runDir = '';

  before(async function () {
    requireCodeServer(this, bin);
    packageExtension();
    s = await openSession(bin, 'jit-e2e-views-', (ws) => {
      // A tiny run with a checkpoint and a training preview grid.
      runDir = trainTinyRun(ws, ['--sample-every', '2', '--preview-steps', '3', '--preview-n', '4']);
      assert.ok(fs.existsSync(path.join(runDir, 'samples', 'step-2.png')), 'the CLI wrote the preview grid step-2.png');
    });
    page = s.page;
  });

  afterEach(async function () {
    await recordFailure(this, page, 'views');
  });

  after(async function () {
    await s?.close();
  });

  let gallery: Frame;

  it('"JiT: Sample Images" with each setting chosen writes a grid that the Sample Gallery shows next to the training preview', async function () {
    await runCommand(page, 'jit.sample', { quickInput: 'from which checkpoint' });
    await quickInput(page, undefined, 'Sample Images — from which checkpoint');
    await quickInput(page, 'Choose each setting', 'JiT: Sample Images from');
    await quickInput(page, undefined, 'weights');
    await quickInput(page, undefined, 'classes');
    await quickInput(page, '4', 'images');
    await quickInput(page, undefined, 'sampler');
    await quickInput(page, String(SAMPLE_STEPS), 'steps');
    await quickInput(page, undefined, 'CFG scale');
    await quickInput(page, '1234', 'seed');
    gallery = await findFrame(page, 'figure.entry.sample img.thumb', 300_000);
    const grid = fs.readdirSync(path.join(runDir, 'samples')).find((f) => /^step-2-heun5-cfg1-ema1-seed1234\.png$/.test(f));
    assert.ok(grid, `the grid was written into the run: ${fs.readdirSync(path.join(runDir, 'samples')).join(', ')}`);
    assert.ok(fs.existsSync(path.join(runDir, 'samples', grid.replace(/\.png$/, '.trajectory.json'))), 'its trajectory was recorded next to it');
    assert.strictEqual(await gallery.locator('figure.entry.training img.thumb').count(), 1, 'the training preview of step 2 is in the same group');
    const title = (await gallery.locator('figure.entry.sample img.thumb').first().getAttribute('title')) ?? '';
    assert.match(title, /step 2, 4 images, 5 heun steps, CFG 1 .*ema1 weights, seed 1234/);
    assert.match(await gallery.locator('.run-group h2').first().innerText(), new RegExp(path.basename(runDir)));
    assert.strictEqual(await gallery.locator('figure.entry.sample button', { hasText: 'Sample again' }).count(), 1);
    await shots(page, 'views-gallery');
  });

  it('a click on a sample opens the trajectory viewer with one frame per step', async function () {
    await gallery.locator('figure.entry.sample img.thumb').first().click({ position: { x: 5, y: 5 } });
    const viewer = await findFrame(page, '.strip[aria-label="predicted clean image at every step"] canvas', 120_000);
    await until('every frame', async () => ((await viewer.locator('.strip[aria-label="predicted clean image at every step"] canvas').count()) === SAMPLE_STEPS ? true : undefined), 30_000);
    assert.strictEqual(await viewer.locator('.strip[aria-label="z_t at every step"] canvas').count(), SAMPLE_STEPS + 1, 'z_t from the noise to the sample');
    await shots(page, 'views-trajectory');
  });

  it('the latent viewer on the run\'s checkpoint shows its numbers', async function () {
    await runCommand(page, 'jit.openLatentViewer', { quickInput: 'Open Latent Viewer' });
    await quickInput(page, undefined, 'Open Latent Viewer');
    await expectEffect(page, 'picking the checkpoint of "Open Latent Viewer"', { tab: 'Latents:' });
    const latent = await findFrame(page, 'table.numbers td', 300_000);
    const cells = await latent.locator('table.numbers td').allInnerTexts();
    assert.ok(cells.slice(0, 2).every((c) => Number.isFinite(Number(c))), `numbers: ${cells.join(' | ')}`);
    assert.ok((await latent.locator('.tiles canvas').count()) > 0, 'basis patches');
    await shots(page, 'views-latent');
  });

  it('the CFG × EMA grid samples every cell, samples again with new settings, a selected cell goes to the gallery and Save PNG writes the grid', async function () {
    await runCommand(page, 'jit.openCfgEmaGrid', { quickInput: 'Open CFG x EMA Grid' });
    await quickInput(page, undefined, 'Open CFG x EMA Grid');
    await expectEffect(page, 'picking the checkpoint of "Open CFG x EMA Grid"', { tab: 'CFG × EMA:' });
    const grid = await findFrame(page, '.gridtable .cell canvas', 300_000);
    // The defaults: ema1, ema2 and online x CFG 1, 1.5, 2, 3, 4, 4 images per cell.
    assert.strictEqual(await grid.locator('.gridtable .cell').count(), 15);
    assert.strictEqual(await grid.locator('.gridtable .cell canvas').count(), 60);
    assert.match(await grid.locator('p.muted').first().innerText(), /20 Heun steps, seed 0 in every cell, 4 images per cell; ONNX Runtime/);
    await shots(page, 'views-grid');

    await grid.locator('input[aria-label="CFG scales"]').fill('1, 3');
    await grid.locator('input[aria-label="seed"]').fill('7');
    await grid.locator('input[aria-label="images per cell"]').fill('2');
    await grid.locator('input[aria-label="steps"]').fill('3');
    await grid.locator('button', { hasText: 'Sample the grid' }).click();
    await until('the grid with the new settings', async () => ((await grid.locator('.gridtable .cell canvas').count()) === 12 ? true : undefined), 120_000);
    assert.deepStrictEqual(await grid.locator('.gridtable .head').allInnerTexts(), ['CFG 1', 'CFG 3', 'ema1', 'ema2', 'online']);

    await grid.locator('select[aria-label="guidance interval"]').selectOption({ label: 'guidance at every step' });
    await grid.locator('.gridtable .cell[title^="online, CFG 3"]').click();
    assert.match(await grid.locator('.selection').innerText(), /Selected: online, CFG 3, guidance at every step/);
    const before = new Set(fs.readdirSync(path.join(runDir, 'samples')));
    await grid.locator('button', { hasText: 'Sample this cell' }).click();
    const made = await until('the cell sampled into the run', () => fs.readdirSync(path.join(runDir, 'samples')).find((f) => !before.has(f) && /-heun3-cfg3-online-seed7\.png$/.test(f)), 120_000);
    const index = fs.readFileSync(path.join(runDir, 'samples', 'index.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const line = index.find((l) => l.file === made);
    assert.deepStrictEqual([line.n, line.steps, line.cfg, line.interval, line.weights, line.seed], [2, 3, 3, [0, 1], 'online', 7], JSON.stringify(line));
    await findFrame(page, `figure.entry.sample img.thumb[title*="seed 7"]`, 60_000);

    // "Save PNG…" through VS Code's save dialog (Enter keeps the proposed name in the workspace): the file holds the
    // shown interval's grid, and its "online, CFG 3" cell shows the same images as the sample just made from it.
    await grid.locator('button', { hasText: 'Save PNG…' }).click();
    await quickInput(page, undefined, 'Save the CFG × EMA grid as PNG');
    const saved = path.join(s!.workspace, `${path.basename(runDir)}-cfg-ema-step2-seed7-no-interval.png`);
    await until('the saved grid PNG', () => (fs.existsSync(saved) ? true : undefined), 60_000);
    await until('the "Saved" message', async () => ((await notifications(page)).some((t) => t.includes(path.basename(saved))) ? true : undefined), 30_000);
    const size = JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8')).config.model.inputSize as number;
    const sheet = await sharp(saved).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const sample = await sharp(path.join(runDir, 'samples', made)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    // The page's layout (webview/grid/main.ts): labels 64 px left and 22 px on top, 8 px gaps, 2 images per cell row,
    // each image scaled to 64 px; the sample grid: 2 px grey padding around images of an integer scale.
    const scale = Math.max(1, Math.round(64 / size));
    const cellW = 2 * size * scale;
    assert.deepStrictEqual([sheet.info.width, sheet.info.height], [64 + 2 * (cellW + 8), 22 + 3 * (size * scale + 8)]);
    const sampleScale = (sample.info.width - 6) / (2 * size);
    let worst = 0;
    for (let i = 0; i < 2; i++) {
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const a = ((22 + 2 * (size * scale + 8) + y * scale) * sheet.info.width + 64 + (cellW + 8) + i * size * scale + x * scale) * 3;
          const b = ((2 + y * sampleScale) * sample.info.width + 2 + i * (size * sampleScale + 2) + x * sampleScale) * 3;
          for (let ch = 0; ch < 3; ch++) worst = Math.max(worst, Math.abs(sheet.data[a + ch] - sample.data[b + ch]));
        }
      }
    }
    assert.ok(worst <= 2, `the saved cell differs from the sample by ${worst} levels`);
  });
});
