/**
 * The packaged extension in a real VS Code (code-server in Chromium, see harness.ts): train from the command
 * palette, watch the dashboard's loss chart receive points, stop, find the run and its checkpoint in the Runs
 * tree, reload the window and find the dashboard restored, see the native-backend install fail with one
 * sentence, be refused in Restricted Mode, and leave no engine process behind when VS Code ends.
 *
 *   bash test/e2e/setup.sh   # once
 *   npx mocha --no-config --require tsx/cjs --timeout 900000 test/e2e/extension.test.ts
 *
 * Screenshots (dark, light and high-contrast themes) and timings go to test-results/e2e/.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Browser, Frame, Page } from 'playwright-core';
import { CodeServer, SCREENSHOT_DIR, defaultCodeServerBin, findFrame, installExtension, listProcesses, openWorkbench, processCommandLine, closePalette, paletteRows, reloadWindow, runCommand, runFromPalette, screenshot, startCodeServer, waitForNotification } from './harness';
import { E2E_COMMANDS, JIT_COMMANDS, RUNS_VIEW, VSIX, cleanScreenshot, packageExtension, quickInput, requireCodeServer, setColorTheme, until, recordFailure } from './setupExtension';

// Previews and periodic checkpoints are slow on two cores; stopping still writes a checkpoint.
const SETTINGS = { 'jit.sampleEvery': 100000, 'jit.checkpointEvery': 100000 };

/** Points drawn in the dashboard's loss chart (the page keeps the count on the chart element). */
async function lossPoints(frame: Frame): Promise<number> {
  try {
    return Number(await frame.locator('#loss-chart').getAttribute('data-points', { timeout: 2_000 }));
  } catch {
    return NaN;
  }
}

describe('JiT Explorer in a real VS Code', function () {
  // Training on two shared cores is slow; this suite must not depend on the runner's default timeout.
  this.timeout(900_000);
  const bin = defaultCodeServerBin();
  let tmp = '';
  let dirs = { extensionsDir: '', userDataDir: '' };
  let workspace = '';
  let server: CodeServer | undefined;
  let page: Page;
  const browsers: Browser[] = [];
  const timings: Record<string, number> = {};
  let runDir = '';

  const engines = () => listProcesses(dirs.extensionsDir).filter((p) => /dist\/engine\.js/.test(processCommandLine(p)));
  const dashboard = () => findFrame(page, '#loss-chart', 120_000);
  const runsRoot = () => path.join(workspace, '.jit', 'runs');

  before(async function () {
    requireCodeServer(this, bin);
    packageExtension();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'jit-e2e-ext-'));
    workspace = path.join(tmp, 'fresh-workspace');
    fs.mkdirSync(workspace);
    fs.writeFileSync(path.join(workspace, 'README.md'), '# A fresh workspace\n');
    dirs = { extensionsDir: path.join(tmp, 'extensions'), userDataDir: path.join(tmp, 'user-data') };
    await installExtension(bin, VSIX, dirs);
    server = await startCodeServer({ bin, folder: workspace, ...dirs, settings: SETTINGS, commands: E2E_COMMANDS });
    const wb = await openWorkbench(server.url, workspace, { trust: true });
    browsers.push(wb.browser);
    page = wb.page;
  });

  afterEach(async function () {
    await recordFailure(this, page, 'extension');
  });

  after(async function () {
    for (const b of browsers) await b.close().catch(() => undefined);
    if (server) await server.stop().catch((e: Error) => console.error(e.message));
    if (Object.keys(timings).length) {
      fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
      fs.writeFileSync(path.join(SCREENSHOT_DIR, 'timings.json'), JSON.stringify(timings, null, 2) + '\n');
    }
    if (tmp && process.env.JIT_E2E_KEEP !== '1') fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** Types each title in the command palette and checks that its own command is the first row. */
  async function paletteFindsEachTitle(titles: string[]): Promise<void> {
    const wrong: string[] = [];
    for (const title of titles) {
      const rows = await paletteRows(page, title);
      if (rows[0] !== title) wrong.push(`"${title}" lists ${JSON.stringify(rows.slice(0, 4))}`);
      await closePalette(page);
    }
    assert.deepStrictEqual(wrong, [], 'typing a command\'s full title in the palette must put that command first');
  }

  it('typing any command\'s full title in the command palette puts that command first', async function () {
    // The commands the palette shows outside training (Stop Training and Save Checkpoint are checked while training).
    const shown = JIT_COMMANDS.filter((c) => !c.paletteWhen);
    assert.ok(shown.length >= 14, `palette commands: ${shown.map((c) => c.title).join(', ')}`);
    await paletteFindsEachTitle(shown.map((c) => c.title));
  });

  it('trains with the defaults after pressing Enter through "JiT: Start Training" (typed in the palette) and streams loss points', async function () {
    await runFromPalette(page, 'JiT: Start Training', { quickInput: 'dataset' });
    await quickInput(page, undefined, 'dataset');
    await quickInput(page, undefined, 'model preset');
    await quickInput(page, undefined, 'training steps');
    await quickInput(page, undefined, 'batch size');
    const pressed = Date.now();
    const frame = await dashboard();
    await until('the first loss point', async () => ((await lossPoints(frame)) > 0 ? true : undefined), 240_000);
    timings.firstPointSecondsDefaults = (Date.now() - pressed) / 1000;
    console.log(`    first loss point ${timings.firstPointSecondsDefaults.toFixed(1)} s after the last Enter (the default preset, ONNX Runtime)`);
    // The defaults train on ONNX Runtime, and the dashboard says so.
    assert.match(await frame.locator('.meta').innerText(), /JiT-Ti\/8 · built-in shapes.* · ONNX Runtime, cpu execution provider, \d+ threads?$/);
    assert.ok((await frame.locator('table.config').innerText()).includes('ONNX Runtime'), 'the configuration table names the engine');
    // Stop from the dashboard's own button (webview -> host -> engine).
    await frame.locator('button', { hasText: /^Stop$/ }).click();
    await waitForNotification(page, /stopped at step \d+ with checkpoint step-\d+\.safetensors/, 180_000);
  });

  it('trains a tiny model chosen in the quick picks; the dashboard\'s loss chart receives points', async function () {
    await runCommand(page, 'jit.train', { quickInput: 'dataset' });
    await quickInput(page, undefined, 'dataset');
    await quickInput(page, 'JiT-Ti/4', 'model preset');
    await quickInput(page, '400', 'training steps');
    await quickInput(page, '4', 'batch size');
    const pressed = Date.now();
    // The open dashboard switches to the new run (its page reloads, so the frame is looked up again).
    let frame = await until('a dashboard for the JiT-Ti/4 run', async () => {
      const f = await dashboard();
      return /JiT-Ti\/4/.test(await f.locator('.meta').innerText({ timeout: 2_000 }).catch(() => '')) ? f : undefined;
    }, 120_000);
    await until('the first loss point', async () => ((await lossPoints(frame)) > 0 ? true : undefined), 240_000);
    timings.firstPointSecondsTiny = (Date.now() - pressed) / 1000;
    const first = await lossPoints(frame);
    await until('more loss points', async () => ((await lossPoints(frame)) >= first + 3 ? true : undefined), 240_000);
    assert.match(await frame.locator('.status').innerText(), /Training · step \d+ \/ 400/);
    await paletteFindsEachTitle(JIT_COMMANDS.filter((c) => c.paletteWhen === 'jit.training').map((c) => c.title));
    // The engine's resident memory, logged with every step, reaches the memory chart.
    const memory = await frame.locator('#memory-chart').getAttribute('aria-label');
    const mib = Number(/latest (\d+) MiB/.exec(memory ?? '')?.[1]);
    assert.ok(mib > 50 && mib < 64_000, `memory chart: ${memory}`);
    await frame.locator('#memory-chart').scrollIntoViewIfNeeded();
    await cleanScreenshot(page, 'dashboard-memory');
    assert.match(await page.locator('.part.statusbar').innerText(), /JiT step \d+\/400 · loss [\d.]+ · [\d.]+ img\/s/);

    // Overlay the first run: its smoothed loss joins the chart as a series named after it.
    const other = fs.readdirSync(runsRoot()).find((d) => d.endsWith('JiT-Ti-8'))!;
    await frame.locator(`.compare input[value="${other}"]`).check();
    await until('the overlay series', async () => ((await frame.locator('#loss-chart .u-legend').innerText()).includes(other) ? true : undefined), 30_000);

    await frame.evaluate('window.scrollTo(0, 0)');

    await runCommand(page, 'jit.runs.focus', RUNS_VIEW);
    await cleanScreenshot(page, 'dashboard-dark');
    for (const [theme, cls, name] of [['Light Modern', 'vscode-light', 'dashboard-light'], ['Dark High Contrast', 'vscode-high-contrast', 'dashboard-high-contrast']]) {
      await setColorTheme(page, theme);
      frame = await findFrame(page, `body.${cls} #loss-chart`, 60_000);
      await cleanScreenshot(page, name);
    }
    await setColorTheme(page, 'Dark Modern');
    await findFrame(page, 'body.vscode-dark #loss-chart', 60_000);
    // A narrow window: the cards stack in one column and stay readable.
    await page.setViewportSize({ width: 760, height: 900 });
    await cleanScreenshot(page, 'dashboard-narrow');
    await page.setViewportSize({ width: 1440, height: 900 });
  });

  it('stops training; the run and its checkpoint show in the Runs tree', async function () {
    await runCommand(page, 'jit.stopTraining', { notification: /Training of .* stopped at step/ }, 180_000);
    const msg = await waitForNotification(page, /Training of .* stopped at step \d+ with checkpoint step-\d+\.safetensors/, 180_000);
    const [, run, ck] = /Training of (\S+) stopped at step \d+ with checkpoint (step-\d+\.safetensors)/.exec(msg)!;
    runDir = path.join(runsRoot(), run);
    assert.ok(fs.existsSync(path.join(runDir, 'checkpoints', ck)), `${ck} is on disk`);

    await runCommand(page, 'jit.runs.focus', RUNS_VIEW);
    const tree = page.locator('.part.sidebar .monaco-list');
    const runRow = tree.locator('.monaco-list-row', { hasText: run }).first();
    await runRow.waitFor({ state: 'visible', timeout: 30_000 });
    if ((await runRow.getAttribute('aria-expanded')) !== 'true') await runRow.click();
    await tree.locator('.monaco-list-row', { hasText: ck }).first().waitFor({ state: 'visible', timeout: 30_000 });
    await screenshot(page, 'runs-tree');
  });

  it('"JiT: Sample Images" draws new images into the Sample Gallery with their class labels', async function () {
    await runCommand(page, 'jit.sample', { quickInput: 'from which checkpoint' });
    await quickInput(page, undefined, 'Sample Images — from which checkpoint');
    await quickInput(page, 'Euler', 'Sample Images from');
    const gallery = await findFrame(page, '.fresh canvas.tile', 300_000);
    assert.strictEqual(await gallery.locator('.fresh canvas.tile').count(), 16);
    const labels = await gallery.locator('.fresh figcaption').allInnerTexts();
    assert.deepStrictEqual(labels.slice(0, 8), ['circle', 'square', 'triangle', 'ring', 'plus', 'diamond', 'stripes', 'star']);
    assert.match(await gallery.locator('.fresh .caption').innerText(), /16 images, 20 euler steps, guidance 1, ema1 weights/);
    assert.ok(fs.readdirSync(path.join(runDir, 'samples')).some((f) => /^step-\d+-euler20-cfg1-ema1-seed\d+\.png$/.test(f)), 'the grid was written into the run');
    await cleanScreenshot(page, 'gallery-samples');
  });

  it('restores the dashboard with its data after a window reload; the old engine process ends', async function () {
    const frame = await dashboard();
    const points = await lossPoints(frame);
    assert.ok(points > 0);
    const before = engines();
    assert.strictEqual(before.length, 1, `one engine before the reload, found ${before.length}`);
    await reloadWindow(page);
    const restored = await dashboard();
    await until('the restored series', async () => ((await lossPoints(restored)) === points ? true : undefined), 60_000);
    assert.strictEqual(await restored.locator('h1').innerText(), path.basename(runDir));
    assert.match(await restored.locator('.status').innerText(), /Not training · step \d+ \/ 400/);
    await until('the old engine to exit', () => (engines().some((p) => before.includes(p)) ? undefined : true), 60_000);
    await screenshot(page, 'dashboard-restored');
  });

  it('"JiT: Install Native Backend" fails here with one sentence and training stays on wasm', async function () {
    await runCommand(page, 'jit.installNativeBackend', { quickInput: 'Install Native Backend' });
    await quickInput(page, undefined, 'Install Native Backend');
    const msg = await waitForNotification(page, /Installing @tensorflow\/tfjs-node-gpu failed/, 400_000);
    assert.match(msg, /could not download the TensorFlow library from storage\.googleapis\.com .* training keeps working on the wasm backend\./);
    assert.strictEqual(msg.split(/[.!?](\s|$)/).filter((s) => s && s.trim()).length, 1, `one sentence: ${msg}`);
    await screenshot(page, 'native-install-failed');
    await runCommand(page, 'jit.showEngineInfo', { notification: /JiT engine: / }, 120_000);
    await waitForNotification(page, /JiT engine: wasm backend on CPU/, 120_000);
  });

  it('refuses "JiT: Start Training" in Restricted Mode with one sentence', async function () {
    const restricted = path.join(tmp, 'untrusted-workspace');
    fs.mkdirSync(restricted);
    const wb = await openWorkbench(server!.url, restricted, { trust: false });
    browsers.push(wb.browser);
    await runCommand(wb.page, 'jit.train', { notification: 'Training is not available in Restricted Mode' });
    const msg = await waitForNotification(wb.page, 'Training is not available in Restricted Mode', 60_000);
    assert.match(msg, /because it runs code on files from this folder; trust the folder/);
    await screenshot(wb.page, 'restricted-mode');
    assert.ok(!fs.existsSync(path.join(restricted, '.jit')), 'nothing was written into the untrusted folder');
    await wb.browser.close();
  });

  it('says in one message that the run stays resumable when the engine dies during training', async function () {
    await runCommand(page, 'jit.resumeTraining', { quickInput: 'Resume Training' });
    await quickInput(page, undefined, 'Resume Training');
    await quickInput(page, undefined, 'train until step');
    const frame = await dashboard();
    await until('the resumed training', async () => (/Training · step/.test(await frame.locator('.status').innerText().catch(() => '')) ? true : undefined), 240_000);
    const [pid] = engines();
    process.kill(pid, 'SIGKILL');
    const msg = await waitForNotification(page, /The JiT engine stopped during training/, 60_000);
    assert.match(msg, /^The JiT engine stopped during training \(the engine process was ended by SIGKILL\); the run keeps its checkpoint at step \d+: continue it with JiT: Resume Training\.$/);
    await until('the dashboard to show the crash', async () => (/engine stopped at step \d+ · resumable/.test(await frame.locator('.status').innerText().catch(() => '')) ? true : undefined), 30_000);
    await cleanScreenshot(page, 'engine-died');
  });

  it('leaves no engine process when VS Code ends during a resumed training (which keeps a checkpoint)', async function () {
    const checkpointsBefore = fs.readdirSync(path.join(runDir, 'checkpoints'));
    await runCommand(page, 'jit.resumeTraining', { quickInput: 'Resume Training' });
    await quickInput(page, undefined, 'Resume Training');
    await quickInput(page, undefined, 'train until step');
    const stepsBefore = fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').length;
    const frame = await dashboard();
    await until('resumed steps', async () => (/Training · step/.test(await frame.locator('.status').innerText().catch(() => '')) ? true : undefined), 240_000);
    // At least one step past the checkpoint, so that stopping has something new to save.
    await until('a new step in metrics.jsonl', () => (fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').length > stepsBefore ? true : undefined), 240_000);
    const pids = engines();
    assert.strictEqual(pids.length, 1);
    for (const b of browsers.splice(0)) await b.close();
    // End VS Code the way a user does (SIGTERM to the server, not to its process group): the extension
    // host deactivates the extension, which stops the engine.
    process.kill(server!.pid, 'SIGTERM');
    await until('every engine process to exit', () => (engines().length === 0 ? true : undefined), 90_000);
    const checkpointsAfter = fs.readdirSync(path.join(runDir, 'checkpoints'));
    assert.ok(checkpointsAfter.some((f) => !checkpointsBefore.includes(f)), `stopping the resumed run wrote a checkpoint (${checkpointsAfter.join(', ')})`);
    await server!.stop();
    assert.deepStrictEqual(listProcesses(tmp), [], 'no process refers to the test folder');
  });
});
