/**
 * Self-test of the e2e harness with a tiny throwaway extension (independent of
 * the real extension): install a VSIX into code-server, run its command from
 * the command palette, see its notification and webview, reload the window,
 * open a folder in Restricted Mode, and stop code-server without leftovers.
 *
 *   bash test/e2e/setup.sh   # once; installs code-server into a cache folder
 *   npx mocha --no-config --require tsx/cjs --timeout 300000 test/e2e/harness.test.ts
 */
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Browser, Page } from 'playwright-core';
import {
  defaultCodeServerBin,
  codeServerInstalled,
  findFrame,
  installExtension,
  isRestrictedMode,
  listProcesses,
  notifications,
  openWorkbench,
  processCommandLine,
  closePalette,
  paletteRows,
  reloadWindow,
  REPO_ROOT,
  runCommand,
  runFromPalette,
  screenshot,
  startCodeServer,
  waitForNotification,
  type CodeServer,
} from './harness';

const EXTENSION_JS = `
const vscode = require('vscode');
exports.activate = (context) => {
  context.subscriptions.push(vscode.commands.registerCommand('harness.hello', () => {
    vscode.window.showInformationMessage('hello from harness');
    const panel = vscode.window.createWebviewPanel('harnessHello', 'Harness Hello', vscode.ViewColumn.One, {});
    panel.webview.html = '<!DOCTYPE html><html><body><h1 id="hello">hi</h1></body></html>';
  }));
};
exports.deactivate = () => {};
`;

const EXTENSION_MANIFEST = {
  name: 'harness-hello',
  displayName: 'Harness Hello',
  description: 'Throwaway extension used by the e2e harness self-test.',
  version: '0.0.1',
  publisher: 'jit-e2e-harness',
  license: 'MIT',
  engines: { vscode: '^1.99.0' },
  main: './extension.js',
  activationEvents: [],
  contributes: {
    commands: [
      { command: 'harness.hello', title: 'Hello', category: 'Harness' },
      // Two titles where one matches the other: what the palette test of the real extension guards against.
      { command: 'harness.train', title: 'Train', category: 'Harness' },
      { command: 'harness.resumeTraining', title: 'Resume Training', category: 'Harness' },
    ],
  },
};

/** Writes the throwaway extension into `dir` and packages it; returns the VSIX path. */
function buildHelloVsix(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(EXTENSION_MANIFEST, null, 2));
  fs.writeFileSync(path.join(dir, 'extension.js'), EXTENSION_JS);
  fs.writeFileSync(path.join(dir, 'README.md'), '# Harness Hello\n\nSays hello and opens a webview.\n');
  fs.writeFileSync(path.join(dir, 'LICENSE'), 'MIT License\n');
  const vsix = path.join(dir, 'harness-hello-0.0.1.vsix');
  const vscePkg = require.resolve('@vscode/vsce/package.json', { paths: [REPO_ROOT] });
  const vsceBin = path.join(path.dirname(vscePkg), 'vsce');
  const res = spawnSync(
    process.execPath,
    [vsceBin, 'package', '--no-dependencies', '--allow-missing-repository', '--skip-license', '-o', vsix],
    { cwd: dir, encoding: 'utf8', timeout: 120_000 },
  );
  if (res.status !== 0 || !fs.existsSync(vsix)) {
    throw new Error(`vsce package failed (${res.status}):\n${res.stdout}\n${res.stderr}`);
  }
  return vsix;
}

describe('e2e harness (code-server + Chromium)', function () {
  const bin = defaultCodeServerBin();
  let tmp = '';
  let server: CodeServer | undefined;
  let serverPids: number[] = [];
  const browsers: Browser[] = [];
  let page: Page | undefined;
  let trustedFolder = '';
  let restrictedFolder = '';

  before(async function () {
    if (!codeServerInstalled(bin)) {
      console.log(
        `    code-server not found at ${bin}: skipping the e2e harness suite ` +
          '(run `bash test/e2e/setup.sh` or set JIT_E2E_CODE_SERVER)',
      );
      this.skip();
    }
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'jit-e2e-harness-'));
    trustedFolder = path.join(tmp, 'trusted-folder');
    restrictedFolder = path.join(tmp, 'restricted-folder');
    for (const folder of [trustedFolder, restrictedFolder]) {
      fs.mkdirSync(folder, { recursive: true });
      fs.writeFileSync(path.join(folder, 'notes.txt'), 'hello\n');
    }
    const dirs = { extensionsDir: path.join(tmp, 'extensions'), userDataDir: path.join(tmp, 'user-data') };
    const vsix = buildHelloVsix(path.join(tmp, 'ext-src'));
    await installExtension(bin, vsix, dirs);
    assert.ok(
      fs.readdirSync(dirs.extensionsDir).some((d) => d.startsWith('jit-e2e-harness.harness-hello-')),
      'extension folder missing after installExtension',
    );
    server = await startCodeServer({
      bin,
      folder: trustedFolder,
      ...dirs,
      settings: { 'workbench.colorTheme': 'Default Dark Modern' },
      commands: ['harness.hello', 'workbench.action.reloadWindow'],
    });
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && page && !page.isClosed()) {
      await screenshot(page, `harness-failed-${this.currentTest.title}`).catch(() => undefined);
    }
  });

  after(async function () {
    for (const b of browsers) await b.close().catch(() => undefined);
    if (server) await server.stop().catch((e: Error) => console.error(e.message));
    if (tmp && process.env.JIT_E2E_KEEP !== '1') fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('serves the workbench over HTTP', function () {
    assert.ok(server);
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('runs a command by its key chord: notification and webview', async function () {
    const wb = await openWorkbench(server!.url, trustedFolder, { trust: true });
    browsers.push(wb.browser);
    page = wb.page;
    assert.strictEqual(await isRestrictedMode(page, 2_000), false, 'trusted folder should not be in Restricted Mode');
    // The colour theme comes from the settings written by startCodeServer.
    assert.match((await page.locator('.monaco-workbench').first().getAttribute('class')) ?? '', /dark_modern/);

    await runCommand(page, 'harness.hello', { notification: 'hello from harness' });
    const text = await waitForNotification(page, 'hello from harness');
    assert.strictEqual(text, 'hello from harness');
    assert.ok((await notifications(page)).includes('hello from harness'));

    const frame = await findFrame(page, '#hello', 60_000);
    assert.strictEqual((await frame.locator('#hello').innerText()).trim(), 'hi');
    await screenshot(page, 'harness-hello');
  });

  it('reloads the window by its chord and runs the command again, typed in the palette', async function () {
    assert.ok(page, 'needs the workbench from the previous test');
    await reloadWindow(page);
    await runFromPalette(page, 'Harness: Hello', { notification: 'hello from harness' });
    const frame = await findFrame(page, '#hello', 60_000);
    assert.strictEqual((await frame.locator('#hello').innerText()).trim(), 'hi');
  });

  it('the palette lists matching commands alphabetically: "Harness: Train" puts "Harness: Resume Training" first', async function () {
    assert.ok(page, 'needs the workbench from the previous test');
    const rows = await paletteRows(page, 'Harness: Train');
    await closePalette(page);
    assert.deepStrictEqual(rows.filter((r) => r.startsWith('Harness: ')).slice(0, 2), ['Harness: Resume Training', 'Harness: Train']);
  });

  it('opens a folder in Restricted Mode', async function () {
    const wb = await openWorkbench(server!.url, restrictedFolder, { trust: false });
    browsers.push(wb.browser);
    page = wb.page;
    assert.strictEqual(await isRestrictedMode(page), true, 'expected the Restricted Mode indicator');
    await screenshot(page, 'harness-restricted');
  });

  it('stops code-server and leaves no process behind', async function () {
    assert.ok(server);
    serverPids = server.pids();
    assert.ok(serverPids.includes(server.pid));
    assert.ok(serverPids.length > 1, `expected code-server to have children, got ${serverPids.join(' ')}`);
    for (const b of browsers.splice(0)) await b.close();
    await server.stop();

    const alive = serverPids.filter((p) => processCommandLine(p) !== '');
    assert.deepStrictEqual(alive, [], `still running: ${alive.map((p) => `${p} ${processCommandLine(p)}`).join('; ')}`);
    assert.deepStrictEqual(listProcesses(tmp), [], 'a process still refers to the test folder');
    // Any code-server left on the machine must not be ours.
    const ours = listProcesses(/code-server/).filter((p) => serverPids.includes(p));
    assert.deepStrictEqual(ours, []);
    await server.stop(); // idempotent
  });
});
