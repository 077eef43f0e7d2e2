// The extension inside a VS Code downloaded by @vscode/test-electron: activation and contributions, a short
// training from a run configuration file (engine process, run folder, checkpoint), stopping a training with a
// checkpoint, the dashboard panel, and the engine's backend report.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';

const EXTENSION_ID = 'jit-explorer.jit-explorer';

function workspaceDir(): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the test runner opens a workspace folder');
  return folder.uri.fsPath;
}

function runsRoot(): string {
  return path.join(workspaceDir(), '.jit', 'runs');
}

function runsNamed(suffix: string): string[] {
  return fs.existsSync(runsRoot()) ? fs.readdirSync(runsRoot()).filter((d) => d.endsWith(suffix)).map((d) => path.join(runsRoot(), d)) : [];
}

async function waitFor<T>(what: string, probe: () => T | undefined, limitMs = 300_000): Promise<T> {
  const end = Date.now() + limitMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('JiT Explorer (VS Code integration)', () => {
  before(async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, `${EXTENSION_ID} is installed`);
    await ext.activate();
  });

  it('registers its commands', async () => {
    const all = await vscode.commands.getCommands(true);
    for (const id of ['jit.train', 'jit.stopTraining', 'jit.openDashboard', 'jit.sample', 'jit.saveCheckpoint', 'jit.resumeTraining', 'jit.showEngineInfo', 'jit.installNativeBackend']) {
      assert.ok(all.includes(id), `${id} is registered`);
    }
  });

  it('reports the backend the engine runs on', async () => {
    const info = (await vscode.commands.executeCommand('jit.showEngineInfo')) as { backend?: { backend: string; devices: string[] } } | undefined;
    assert.ok(info?.backend, 'the engine answered');
    assert.ok(['tensorflow', 'wasm', 'cpu'].includes(info.backend.backend));
    assert.ok(info.backend.devices.length > 0);
  });

  it('trains a run configuration file to the end: run folder, metrics, checkpoint, preview grid', async () => {
    const config = vscode.Uri.file(path.join(workspaceDir(), 'tiny.jitrun.json'));
    await vscode.commands.executeCommand('jit.train', config);
    const [run] = runsNamed('-tiny');
    assert.ok(run, 'a run folder named after the configuration');
    assert.strictEqual(fs.readFileSync(path.join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').length, 2);
    assert.ok(fs.existsSync(path.join(run, 'checkpoints', 'step-2.safetensors')));
    assert.ok(fs.existsSync(path.join(run, 'samples', 'step-2.png')));
  });

  it('stops a training after its current step and keeps a checkpoint', async () => {
    const training = vscode.commands.executeCommand('jit.train', vscode.Uri.file(path.join(workspaceDir(), 'long.jitrun.json')));
    const run = await waitFor('the long run to log a step', () => {
      const dir = runsNamed('-long')[0];
      return dir && fs.existsSync(path.join(dir, 'metrics.jsonl')) ? dir : undefined;
    });
    await vscode.commands.executeCommand('jit.stopTraining');
    await training;
    const checkpoints = fs.readdirSync(path.join(run, 'checkpoints')).filter((f) => f.endsWith('.safetensors'));
    assert.strictEqual(checkpoints.length, 1, 'stopping wrote one checkpoint');
    const steps = fs.readFileSync(path.join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').length;
    assert.strictEqual(checkpoints[0], `step-${steps}.safetensors`);
  });

  it('opens the dashboard panel for the latest run', async () => {
    await vscode.commands.executeCommand('jit.openDashboard');
    const tab = await waitFor('the dashboard tab', () => vscode.window.tabGroups.all.flatMap((g) => g.tabs)
      .find((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith('jit.dashboard')), 30_000);
    assert.match(tab.label, /^JiT: \d{8}-\d{6}-long$/);
  });
});
