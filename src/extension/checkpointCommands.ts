// The checkpoint commands and the inspector/lab registrations: JiT: Inspect Checkpoint, Compare Checkpoints,
// Import Official Checkpoint (refused in Restricted Mode), Export for PyTorch, and Open Manifold Lab. The
// conversions run in the engine; this file only asks for files and reports the outcome.
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { latestCheckpoint, runDirOfCheckpoint } from '../io/officialOutput';
import type { RunConfig } from '../io/runConfig';
import { pickCheckpoint, pickCheckpointFile } from './checkpointPicker';
import { EngineClient } from './engineClient';
import { TensorInspectorProvider } from './inspectorEditor';
import { LabPanel } from './labPanel';
import { QuickFlow, askInTurn } from './quickFlow';
import { RunsLocation } from './runsLocation';
import { ensureTrusted } from './trust';

export interface CheckpointCommandDeps {
  extensionUri: vscode.Uri;
  engine: EngineClient;
  location: RunsLocation;
  log: vscode.LogOutputChannel;
  /** Called after an import created a run folder. */
  refreshRuns: () => void;
}

function message(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}

/** A checkpoint Uri from what a command was invoked on: an explorer Uri, a Runs tree node with a file, or nothing. */
export function checkpointArg(arg: unknown): vscode.Uri | undefined {
  if (arg instanceof vscode.Uri) return arg;
  const file = (arg as { file?: unknown } | undefined)?.file;
  return typeof file === 'string' ? vscode.Uri.file(file) : undefined;
}

/** A name for an imported run folder: `<yyyymmdd-hhmmss>-imported-<file name>`, not yet existing. */
export function importedRunDir(root: string, pthFile: string, now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
  const stem = path.basename(pthFile).replace(/\.[^.]+$/, '').replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'checkpoint';
  const base = path.join(root, `${stamp}-imported-${stem}`);
  let dir = base;
  for (let i = 2; fs.existsSync(dir); i++) dir = `${base}-${i}`;
  return dir;
}

/** A checkpoint's run configuration, or undefined when it has none (the engine then says what is wrong). */
async function runConfigOf(file: string): Promise<RunConfig | undefined> {
  const run = path.join(runDirOfCheckpoint(file), 'run.json');
  try {
    return (JSON.parse(await fs.promises.readFile(run, 'utf8')) as { config?: RunConfig }).config;
  } catch {
    return undefined;
  }
}

/** A checkpoint of the workspace, or any file through "Browse…". */
async function pickCheckpointUri(flow: QuickFlow, location: RunsLocation, title: string): Promise<vscode.Uri | undefined> {
  const file = await pickCheckpoint(flow, title, { root: location.current(), browse: true });
  return file === undefined ? undefined : vscode.Uri.file(file);
}

export function registerCheckpointCommands(context: vscode.ExtensionContext, d: CheckpointCommandDeps): TensorInspectorProvider {
  const inspector = new TensorInspectorProvider(d.extensionUri, d.engine, d.log);
  const register = (id: string, fn: (...args: unknown[]) => unknown) =>
    context.subscriptions.push(vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      try {
        await fn(...args);
      } catch (e) {
        d.log.error(`${id}: ${e instanceof Error && e.stack ? e.stack : message(e)}`);
        void vscode.window.showErrorMessage(message(e));
      }
    }));

  context.subscriptions.push(
    TensorInspectorProvider.register(context, inspector),
    vscode.window.registerWebviewPanelSerializer(LabPanel.viewType, {
      deserializeWebviewPanel: async (panel: vscode.WebviewPanel, state: unknown) => {
        LabPanel.revive(panel, d.extensionUri, d.engine, d.log, state as never);
      },
    }),
  );

  register('jit.inspectCheckpoint', async (arg) => {
    const uri = checkpointArg(arg) ?? (await askInTurn((flow) => pickCheckpointUri(flow, d.location, 'Inspect Checkpoint')));
    if (uri) await vscode.commands.executeCommand('vscode.openWith', uri, TensorInspectorProvider.viewType);
  });

  register('jit.compareCheckpoints', async (arg) => {
    const pair = await askInTurn(async (flow) => {
      const first = checkpointArg(arg) ?? (await pickCheckpointUri(flow, d.location, 'Compare Checkpoints: the reference (W)'));
      if (!first) return undefined;
      const second = await pickCheckpointUri(flow, d.location, `Compare Checkpoints: compare ${path.basename(first.fsPath)} with`);
      return second && { first, second };
    });
    if (pair) await inspector.openAndCompare(pair.first, pair.second.fsPath);
  });

  register('jit.importCheckpoint', async (arg) => {
    if (!ensureTrusted('Importing a checkpoint')) return;
    const pth = checkpointArg(arg) ?? (await pickCheckpointFile('Import Official Checkpoint (.pth)'));
    if (!pth) return;
    const root = await askInTurn((flow) => d.location.forNewRun(flow));
    if (!root) return;
    const out = importedRunDir(root, pth.fsPath);
    const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Importing ${path.basename(pth.fsPath)}…` }, async () => {
      const { peer } = await d.engine.ensure();
      return peer.request('importCheckpoint', { file: pth.fsPath, out });
    });
    d.refreshRuns();
    const pick = await vscode.window.showInformationMessage(`Imported ${path.basename(pth.fsPath)} (${r.preset}, step ${r.step}) as the run ${path.basename(r.runDir ?? r.file)}.`, 'Inspect');
    if (pick) await vscode.commands.executeCommand('vscode.openWith', vscode.Uri.file(r.file), TensorInspectorProvider.viewType);
  });

  register('jit.exportForPyTorch', async (arg) => {
    const asked = await askInTurn(async (flow) => {
      const file = checkpointArg(arg) ?? (await pickCheckpointUri(flow, d.location, 'Export for PyTorch'));
      if (!file) return undefined;
      const pick = await flow.pick([
        { label: 'ema1', description: 'EMA 0.9999 (what the official code samples with)' },
        { label: 'ema2', description: 'EMA 0.9996' },
        { label: 'online', description: 'the weights being trained' },
      ], { title: 'Export for PyTorch: which weights' });
      return pick && { file, pick };
    });
    if (!asked) return;
    const { file: ck, pick: weights } = asked;
    const stem = path.basename(ck.fsPath).replace(/\.[^.]+$/, '');
    const target = await vscode.window.showSaveDialog({
      title: 'Export for PyTorch', filters: { safetensors: ['safetensors'] },
      defaultUri: vscode.Uri.file(path.join(path.dirname(ck.fsPath), `${stem}-${weights.label}-pytorch.safetensors`)),
    });
    if (!target) return;
    const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Exporting ${path.basename(ck.fsPath)}…` }, async () => {
      const { peer } = await d.engine.ensure();
      return peer.request('exportCheckpoint', { checkpoint: ck.fsPath, weights: weights.label as 'ema1' | 'ema2' | 'online', out: target.fsPath });
    });
    void vscode.window.showInformationMessage(`Wrote ${r.tensors} tensors (${r.weights}) to ${path.basename(r.file)}; load it in the official code with load_state_dict(..., strict=True) (docs/pytorch-interop.md).`);
  });

  register('jit.continueOfficial', async (arg) => {
    const runDir = (arg as { kind?: string; dir?: unknown } | undefined)?.kind === 'run' ? String((arg as { dir: string }).dir) : undefined;
    const latest = runDir ? latestCheckpoint(runDir) : undefined;
    const asked = await askInTurn(async (flow) => {
      const file = (latest ? vscode.Uri.file(latest) : checkpointArg(arg)) ?? (await pickCheckpointUri(flow, d.location, 'JiT: Continue with the Official PyTorch Code — which checkpoint?'));
      if (!file) return undefined;
      const title = `Continue ${path.basename(runDirOfCheckpoint(file.fsPath))} with the official code`;
      flow.close();
      const dir = await vscode.window.showOpenDialog({ title: `${title}: its output folder (main_jit.py --output_dir)`, canSelectFolders: true, canSelectFiles: false, openLabel: 'Write checkpoint-last.pth Here' });
      if (!dir?.[0]) return undefined;
      const whole = (v: string) => (/^[1-9]\d*$/.test(v.trim()) ? undefined : 'Enter a positive whole number.');
      const gpus = await flow.input({ title: `${title}: GPUs per node`, prompt: 'torchrun --nproc_per_node; the batch is split over them and the learning rate kept', value: '8', validateInput: whole });
      if (!gpus) return undefined;
      const builtin = (await runConfigOf(file.fsPath))?.data.kind === 'builtin';
      const size = builtin ? await flow.input({
        title: `${title}: images per epoch`, prompt: 'This run trained on the built-in shapes: how many images does the data set the official code trains on have? (It counts epochs.)', validateInput: whole,
      }) : '';
      return size === undefined ? undefined : { file, folder: dir, gpus, size };
    });
    if (!asked) return;
    const { file: ck, folder, gpus, size } = asked;
    const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Writing ${path.join(path.basename(folder[0].fsPath), 'checkpoint-last.pth')}…` }, async () => {
      const { peer } = await d.engine.ensure();
      return peer.request('exportOfficial', { checkpoint: ck.fsPath, outputDir: folder[0].fsPath, gpus: Number(gpus), datasetSize: size ? Number(size) : undefined });
    });
    const text = [
      `# ${r.file}: epoch ${r.epoch} recorded (${r.imagesSeen} images seen); the official code continues at epoch ${r.epoch + 1}.`,
      ...r.notes.map((n) => `# note: ${n}`),
      ...(r.modelEntry ? [`# main_jit.py does not know ${String(r.args.model)}: add this to model_jit.py, after JiT_models:`, ...r.modelEntry.split('\n').map((l) => `#   ${l}`)] : []),
      '# Continue the run (from the official code\'s folder):',
      r.command,
      '',
    ].join('\n');
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument({ language: 'shellscript', content: text }), { preview: false });
    const pick = await vscode.window.showInformationMessage(`Wrote ${path.basename(r.file)} for main_jit.py --resume ${path.basename(folder[0].fsPath)}.`, 'Copy Command');
    if (pick) await vscode.env.clipboard.writeText(r.command);
  });

  register('jit.openManifoldLab', () => {
    LabPanel.show(d.extensionUri, d.engine, d.log);
  });

  return inspector;
}
