// The Sample Gallery view: the sample grids of every run, grouped by run and training step, with one step slider
// for all runs; grids written while training appear as they are written (a watcher on the runs folder and the
// training's 'samples' events). A click on an image opens its recorded trajectory; each grid can be saved as a
// PNG, its settings copied, or sampled again with the same seed. The images of the last "JiT: Sample Images" are drawn
// from the bytes the engine sent, with class labels.
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { SampleOutcome } from '../engine/protocol';
import { unpackTensor } from '../wire/tensorPack';
import { discoverRuns } from '../io/runs';
import type { FromGallery, GalleryRun, ToGallery } from '../wire/dashboardMessages';
import { classLabel, classNames } from './runInfo';
import { RunsLocation } from './runsLocation';
import { RunsFolderWatcher } from './runsFolderWatcher';
import { repeatRequest } from './sampleFlow';
import { SampleEntry, allSteps, describeSettings, runSampleGroups } from './sampleGroups';
import { TrainingController } from './training';
import { webviewDist, webviewHtml } from './webviewHtml';

/** Runs shown at once (newest first, the selected one always). */
const MAX_RUNS = 8;

function entryLabel(e: SampleEntry): string {
  const s = e.settings;
  if (e.origin === 'training') return 'training preview';
  if (!s) return path.basename(e.file, '.png');
  return [s.method && s.steps ? `${s.method} ${s.steps}` : undefined, s.cfg !== undefined ? `cfg ${s.cfg}` : undefined, s.weights, s.seed !== undefined ? `seed ${s.seed}` : undefined]
    .filter(Boolean).join(' · ');
}

export class GalleryViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  static readonly viewType = 'jit.gallery';
  private view: vscode.WebviewView | undefined;
  private runDir: string | undefined;
  /** The last fresh sample of the shown run, kept so that it survives the view being hidden. */
  private fresh: Extract<ToGallery, { type: 'samples' }> | undefined;
  /** The entries of the last message, by key, for the page's actions. */
  private entries = new Map<string, { runDir: string; entry: SampleEntry }>();
  private readonly watcher: RunsFolderWatcher;
  private timer: NodeJS.Timeout | undefined;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(private readonly extensionUri: vscode.Uri, private readonly location: RunsLocation, training: TrainingController) {
    this.watcher = new RunsFolderWatcher(location, '**/samples/*.{png,json,jsonl}', () => this.sendSoon());
    this.subscriptions.push(
      training.onDidEvent(({ runDir, event }) => {
        if (event.type === 'started' && !this.runDir) this.showRun(runDir);
        if (event.type === 'samples' || event.type === 'started') this.sendSoon();
      }),
      location.onDidChange(() => this.configure()),
    );
    this.watcher.ensure();
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.watcher.dispose();
    this.subscriptions.forEach((d) => d.dispose());
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    this.configure();
    view.webview.onDidReceiveMessage((m: FromGallery) => this.receive(m), undefined, this.subscriptions);
    view.onDidDispose(() => (this.view = undefined), undefined, this.subscriptions);
    view.onDidChangeVisibility(() => view.visible && this.send(), undefined, this.subscriptions);
  }

  /** Narrow resource roots: the page's bundle and the runs folder (grids are files in it). */
  private configure(): void {
    this.watcher.ensure();
    if (!this.view) return;
    this.view.webview.options = { enableScripts: true, enableForms: false, localResourceRoots: [webviewDist(this.extensionUri), ...this.location.folders().map((f) => vscode.Uri.file(f))] };
    this.view.webview.html = webviewHtml(this.view.webview, this.extensionUri, 'gallery', 'JiT Sample Gallery');
  }

  showRun(runDir: string): void {
    if (runDir !== this.runDir) this.fresh = undefined;
    this.runDir = runDir;
    this.watcher.ensure();
    this.send();
  }

  /** Shows the images of a "JiT: Sample Images" of a run's checkpoint and brings the view forward. */
  showSamples(runDir: string, s: SampleOutcome): void {
    this.runDir = runDir;
    const names = classNames(runDir);
    const images = unpackTensor(s.tensors, 'images', 'uint8');
    const buffer = images.data.slice().buffer; // exactly this tensor's bytes
    this.fresh = {
      type: 'samples', id: path.basename(runDir),
      images: { buffer, n: s.n, size: s.imageSize, labels: s.labels.map((l) => classLabel(names, l)) },
      caption: `${path.basename(s.file)}: ${s.n} images, ${s.steps} ${s.method} steps, guidance ${s.cfgScale}, ${s.weights} weights, ${s.seconds.toFixed(1)} s`,
    };
    if (this.view) this.view.show(true);
    else void vscode.commands.executeCommand(`${GalleryViewProvider.viewType}.focus`);
    this.watcher.ensure();
    this.send();
  }

  /** Coalesces bursts of file events (a grid, its trajectory and the index line arrive together). */
  private sendSoon(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.send(), 300);
  }

  private runDirs(): string[] {
    const root = this.location.current();
    const dirs = root ? discoverRuns(root).map((r) => r.dir) : [];
    const selected = this.runDir && fs.existsSync(this.runDir) ? this.runDir : undefined;
    const rest = dirs.filter((d) => d !== selected);
    return [...(selected ? [selected] : []), ...rest].slice(0, MAX_RUNS);
  }

  private send(): void {
    const view = this.view;
    if (!view) return;
    const dirs = this.runDirs();
    if (!dirs.length) {
      this.entries.clear();
      void view.webview.postMessage({ type: 'empty', message: 'No runs yet: start one with "JiT: Start Training"; its sample grids appear here.' } satisfies ToGallery);
      return;
    }
    const groups = dirs.map(runSampleGroups);
    this.entries = new Map();
    const runs: GalleryRun[] = groups.map((g) => ({
      id: g.id,
      steps: g.steps.map((s) => ({
        step: s.step,
        scores: s.scores,
        entries: s.entries.map((e) => {
          const key = `${g.id}/${path.basename(e.file)}`;
          this.entries.set(key, { runDir: g.runDir, entry: e });
          return {
            key,
            uri: view.webview.asWebviewUri(vscode.Uri.file(e.file)).with({ query: `v=${Math.round(e.mtimeMs)}` }).toString(),
            title: describeSettings(e), label: entryLabel(e), origin: e.origin, n: e.n, trajectory: e.trajectory,
            repeatable: repeatRequest(g.runDir, e.settings) !== undefined,
          };
        }),
      })),
    }));
    const selected = this.runDir ? path.basename(this.runDir) : undefined;
    void view.webview.postMessage({ type: 'groups', runs, steps: allSteps(groups), selected } satisfies ToGallery);
    if (this.fresh && this.fresh.id === (groups[0]?.id)) void view.webview.postMessage(this.fresh);
  }

  private async receive(m: FromGallery): Promise<void> {
    if (m.type === 'ready') return this.send();
    if (m.type === 'sample') {
      await vscode.commands.executeCommand('jit.sample', this.runDir ? vscode.Uri.file(this.runDir) : undefined);
      return;
    }
    const found = this.entries.get(m.key);
    if (!found || !fs.existsSync(found.entry.file)) {
      void vscode.window.showWarningMessage('That sample grid is no longer in the runs folder.');
      return this.send();
    }
    const { runDir, entry } = found;
    switch (m.type) {
      case 'open':
        if (entry.trajectory) await vscode.commands.executeCommand('jit.openTrajectory', vscode.Uri.file(entry.file), m.index ?? 0);
        else await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(entry.file));
        return;
      case 'savePng': {
        const home = vscode.workspace.workspaceFolders?.[0]?.uri ?? vscode.Uri.file(path.dirname(entry.file));
        const target = await vscode.window.showSaveDialog({
          title: 'Save the sample grid as PNG', defaultUri: vscode.Uri.joinPath(home, `${path.basename(runDir)}-${path.basename(entry.file)}`), filters: { 'PNG image': ['png'] },
        });
        if (!target) return;
        await vscode.workspace.fs.copy(vscode.Uri.file(entry.file), target, { overwrite: true });
        void vscode.window.showInformationMessage(`Saved ${path.basename(target.fsPath)}.`);
        return;
      }
      case 'copySettings': {
        const text = entry.settings ? JSON.stringify({ run: path.basename(runDir), ...entry.settings }) : describeSettings(entry);
        await vscode.env.clipboard.writeText(text);
        void vscode.window.setStatusBarMessage('JiT: sample settings copied', 3000);
        return;
      }
      case 'sampleAgain': {
        const request = repeatRequest(runDir, entry.settings);
        if (!request) {
          void vscode.window.showInformationMessage(`${path.basename(entry.file)} does not record its checkpoint and settings, so it cannot be sampled again.`);
          return;
        }
        if (!fs.existsSync(request.checkpoint)) {
          void vscode.window.showWarningMessage(`${path.basename(request.checkpoint)}, the checkpoint of this grid, is no longer in ${path.basename(runDir)}.`);
          return;
        }
        await vscode.commands.executeCommand('jit.sample', vscode.Uri.file(request.checkpoint), request);
        return;
      }
    }
  }
}
