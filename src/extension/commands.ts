// The JiT commands. Training, sampling and resuming are refused in Restricted Mode (trust.ts), also when a
// command is invoked directly rather than from a menu.
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { SampleRequest } from '../tasks/sampleCheckpoint';
import { CancelledError, PeerExitedError, RemoteError } from '../engine/rpc';
import { isRunFolder, latestCheckpoint, runDirOfCheckpoint } from '../io/officialOutput';
import { OFFICIAL_CHECKPOINT_RE } from '../io/officialRun';
import { CHECKPOINT_RE, discoverRuns, listCheckpoints } from '../io/runs';
import { DashboardDeps, DashboardPanel } from './dashboardPanel';
import { GalleryViewProvider } from './galleryView';
import { NativePackage, findNpm, installNative } from './nativeInstall';
import { readRunFile } from './runInfo';
import { pickCheckpoint } from './checkpointPicker';
import { askInTurn } from './quickFlow';
import { pickSampleSettings } from './sampleFlow';
import { RunsNode, RunsTreeProvider } from './runsTree';
import { readSettings } from './settings';
import { pickTrainPlan, planFromFile } from './trainFlow';
import { ensureTrusted } from './trust';
import { registerViewCommands } from './explorerCommands';
import { completeWalkthroughStep } from './walkthrough';

export interface CommandDeps extends DashboardDeps {
  tree: RunsTreeProvider;
  gallery: GalleryViewProvider;
}

/** What a command was invoked on: a Runs tree node, a file Uri (explorer, our own buttons), or nothing. */
type Target = RunsNode | vscode.Uri | undefined;

function targetRun(t: Target): { runDir?: string; checkpoint?: string } {
  if (!t) return {};
  if (t instanceof vscode.Uri) {
    const p = t.fsPath;
    if (CHECKPOINT_RE.test(path.basename(p)) || OFFICIAL_CHECKPOINT_RE.test(path.basename(p))) return { runDir: runDirOfCheckpoint(p), checkpoint: p };
    if (isRunFolder(p)) return { runDir: p };
    return {};
  }
  if (t.kind === 'run') return { runDir: t.dir };
  if (t.kind === 'checkpoint') return { runDir: t.runDir, checkpoint: t.file };
  return { runDir: t.runDir };
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function registerCommands(context: vscode.ExtensionContext, d: CommandDeps): void {
  const { training, engine, location, log } = d;
  const register = (id: string, fn: (...args: never[]) => unknown) =>
    context.subscriptions.push(vscode.commands.registerCommand(id, async (...args: never[]) => {
      try {
        await fn(...args);
      } catch (e) {
        log.error(`${id}: ${e instanceof Error && e.stack ? e.stack : message(e)}`);
        void vscode.window.showErrorMessage(message(e));
      }
    }));

  register('jit.train', async (config?: vscode.Uri) => {
    if (!ensureTrusted('Training')) return;
    const settings = readSettings();
    // Invoked on a *.jitrun.json (explorer menu, or by a script): train that configuration without asking.
    const fromFile = config instanceof vscode.Uri && config.fsPath.endsWith('.jitrun.json');
    const asked = await askInTurn(async (flow) => {
      const runsRoot = await location.forNewRun(flow);
      if (!runsRoot) return undefined;
      const plan = fromFile ? await planFromFile(config, settings) : await pickTrainPlan(flow, settings);
      return plan && { runsRoot, plan };
    });
    if (!asked) return;
    await training.start({ overrides: asked.plan.overrides, runsRoot: asked.runsRoot, runName: asked.plan.runName }, asked.plan.source);
  });

  register('jit.resumeTraining', async (t: Target) => {
    if (!ensureTrusted('Resuming training')) return;
    let { runDir, checkpoint } = targetRun(t);
    if (runDir && !checkpoint) checkpoint = listCheckpoints(runDir).at(-1)?.file;
    if (runDir && !checkpoint) {
      void vscode.window.showInformationMessage(`${path.basename(runDir)} has no checkpoint to resume from.`);
      return;
    }
    const asked = await askInTurn(async (flow) => {
      const from = checkpoint ?? await pickCheckpoint(flow, 'JiT: Resume Training — from which checkpoint?', { root: location.current() });
      if (!from) return undefined;
      const dir = path.dirname(path.dirname(from));
      const step = Number(CHECKPOINT_RE.exec(path.basename(from))?.[1] ?? 0);
      const planned = readRunFile(dir)?.config?.steps ?? 0;
      const until = await flow.input({
        title: `JiT: Resume ${path.basename(dir)} from step ${step} — train until step`,
        value: String(step < planned ? planned : step + Math.max(planned, 1000)),
        validateInput: (v) => (/^\d+$/.test(v.trim()) && Number(v) > step ? undefined : `Enter a whole number above ${step}.`),
      });
      return until ? { from, dir, step, until: Number(until) } : undefined;
    });
    if (!asked) return;
    await training.start({ runsRoot: path.dirname(asked.dir), resumeFrom: asked.from, untilStep: asked.until }, `${path.basename(asked.dir)} from step ${asked.step}`);
  });

  register('jit.stopTraining', () => {
    if (!training.stop()) void vscode.window.showInformationMessage('No training is running.');
  });

  register('jit.saveCheckpoint', async () => {
    if (!training.busy) {
      void vscode.window.showInformationMessage('No training is running: checkpoints are saved while training.');
      return;
    }
    const accepted = await training.saveCheckpoint();
    void vscode.window.showInformationMessage(accepted ? 'A checkpoint will be written after the current step.' : 'The engine is not training right now.');
  });

  register('jit.openDashboard', (t: Target) => {
    const root = location.current();
    const runDir = targetRun(t).runDir ?? training.runDir ?? DashboardPanel.open?.run ?? (root ? discoverRuns(root)[0]?.dir : undefined);
    if (!runDir) {
      void vscode.window.showInformationMessage('No runs yet: start one with "JiT: Start Training".');
      return;
    }
    DashboardPanel.show(d, runDir);
  });

  register('jit.sample', async (t: Target, repeat?: SampleRequest) => {
    if (!ensureTrusted('Sampling')) return;
    let { runDir, checkpoint } = targetRun(t);
    // The Sample Gallery's "sample again" passes the whole request of the grid it repeats.
    if (repeat?.checkpoint) checkpoint = repeat.checkpoint;
    if (runDir && !checkpoint) checkpoint = latestCheckpoint(runDir);
    const asked = await askInTurn(async (flow) => {
      const file = checkpoint ?? await pickCheckpoint(flow, 'JiT: Sample Images — from which checkpoint?', { root: location.current(), officialFolders: location.extraFolders() });
      if (!file) return undefined;
      const settings = repeat ?? await pickSampleSettings(flow, runDirOfCheckpoint(file), file);
      return settings && { file, settings };
    });
    if (!asked) return;
    checkpoint = asked.file;
    runDir = runDirOfCheckpoint(checkpoint);
    const settings = asked.settings;
    await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'JiT sampling', cancellable: true }, async (progress, token) => {
      const controller = new AbortController();
      token.onCancellationRequested(() => controller.abort());
      progress.report({ message: 'starting the engine…' });
      const { peer } = await engine.ensure();
      let last = 0;
      try {
        const r = await peer.request('sample', {
          ...settings, checkpoint: checkpoint!,
        }, {
          signal: controller.signal, cancelGraceMs: 60_000,
          onProgress: (p) => {
            const pct = (100 * p.evals) / p.total;
            progress.report({ increment: pct - last, message: `${p.evals}/${p.total} network evaluations` });
            last = pct;
          },
        });
        log.info(`Sampled ${r.n} images in ${r.seconds.toFixed(1)} s: ${r.file}`);
        d.gallery.showSamples(runDir!, r);
        completeWalkthroughStep(vscode.commands, 'sampled');
      } catch (e) {
        if (controller.signal.aborted || e instanceof CancelledError) return;
        if (e instanceof PeerExitedError) throw new Error(`The JiT engine stopped while sampling (${e.reason}); run "JiT: Sample Images" again.`);
        throw new Error(`Sampling failed: ${e instanceof RemoteError ? e.message : message(e)}`);
      }
    });
  });

  register('jit.showEngineInfo', async () => {
    const ready = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Starting the JiT engine…' }, () => engine.ensure());
    const info = await ready.peer.request('info', {});
    const b = info.backend!;
    const lines = [
      `Backend: ${b.backend} — ${b.package}`,
      `Devices: ${b.devices.join(', ')}`,
      `Engine: pid ${info.process.pid}, ${ready.node.description}, ${info.process.rssMB} MB`,
      `TensorFlow.js ${b.tfjsVersion}; native backend folder: ${engine.nativeDir}${fs.existsSync(engine.nativeDir) ? '' : ' (not installed)'}`,
      ...b.notes.map((n) => `Note: ${n}`),
      ...ready.node.notes.map((n) => `Note: ${n}`),
    ];
    for (const l of lines) log.info(l);
    const actions = b.backend === 'tensorflow' ? ['Show Log'] : ['Install Native Backend', 'Show Log'];
    // Not awaited: the command is done once the message shows (a script awaiting it must not wait for a click).
    void vscode.window.showInformationMessage(`JiT engine: ${b.backend} backend on ${b.devices.join(', ')} (${b.package}); ${ready.node.kind === 'vscode' ? 'running on VS Code\'s runtime' : `Node ${info.process.node}`}.`, ...actions).then((pick) => {
      if (pick === 'Show Log') log.show();
      if (pick === 'Install Native Backend') void vscode.commands.executeCommand('jit.installNativeBackend');
    });
    return info;
  });

  register('jit.installNativeBackend', async () => {
    const settings = readSettings();
    const npm = findNpm(settings.nodePath, process.env.PATH);
    if (!npm) {
      void vscode.window.showErrorMessage('npm was not found on PATH, so the native backend cannot be installed: install Node.js (which includes npm) or set jit.engine.nodePath to a Node.js whose folder has npm — training keeps working on the wasm backend.');
      return;
    }
    const gpuFirst = process.platform !== 'darwin';
    const choices: (vscode.QuickPickItem & { pkg: NativePackage })[] = [
      { pkg: '@tensorflow/tfjs-node-gpu', label: 'TensorFlow with CUDA (NVIDIA GPU)', description: '@tensorflow/tfjs-node-gpu', detail: 'Needs CUDA 11.2 and cuDNN 8.1; without them it runs on the CPU' },
      { pkg: '@tensorflow/tfjs-node', label: 'TensorFlow on the CPU', description: '@tensorflow/tfjs-node', detail: 'Native multi-threaded CPU kernels; faster than wasm for large models' },
    ];
    const pick = await askInTurn((flow) => flow.pick(gpuFirst ? choices : choices.slice(1), { title: 'JiT: Install Native Backend', placeHolder: 'Downloads about 300 MB with your npm into the extension\'s storage' }));
    if (!pick) return;
    if (training.busy) {
      void vscode.window.showWarningMessage('Stop the running training first: the engine restarts to load the native backend.');
      return;
    }
    log.show(true);
    log.info(`Installing ${pick.pkg} into ${engine.nativeDir} with ${npm}…`);
    const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Installing ${pick.pkg}`, cancellable: true }, (progress, token) => {
      const controller = new AbortController();
      token.onCancellationRequested(() => controller.abort());
      return installNative({
        npm, pkg: pick.pkg, dir: engine.nativeDir, signal: controller.signal,
        onLine: (line) => {
          log.info(`[npm] ${line}`);
          if (/^npm (http|info|warn)|^>|Downloading|added \d+/.test(line)) progress.report({ message: line.slice(0, 100) });
        },
      });
    });
    if (!result.ok) {
      log.error(result.message);
      void vscode.window.showErrorMessage(result.message, 'Show Log').then((p) => p && log.show());
      return;
    }
    log.info(`${pick.pkg} installed; restarting the engine to load it.`);
    await engine.restart();
    await vscode.commands.executeCommand('jit.showEngineInfo');
  });

  register('jit.refreshRuns', () => d.tree.refresh());

  register('jit.openSampleGrid', (node: RunsNode) => {
    if (node && node.kind === 'samples') return vscode.commands.executeCommand('vscode.open', vscode.Uri.file(node.file));
  });

  register('jit.revealRun', (t: Target) => {
    const node = t as RunsNode | undefined;
    const file = node ? (node.kind === 'run' ? node.dir : node.kind === 'warning' ? node.runDir : node.file) : undefined;
    if (!file) return;
    const uri = vscode.Uri.file(file);
    // The Explorer view shows workspace files; anything else is shown in the system's file manager.
    return vscode.commands.executeCommand(vscode.workspace.getWorkspaceFolder(uri) ? 'revealInExplorer' : 'revealFileInOS', uri);
  });
  registerViewCommands(context, d);
}
