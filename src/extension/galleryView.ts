// The Sample Gallery view: the sample grids of the selected run (the latest first, earlier ones a slider
// away), and the images of the last "JiT: Sample", drawn from the bytes the engine sent, with class labels.
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { SampleOutcome, unpackTensor } from '../engine/protocol';
import { discoverRuns, listSampleGrids } from '../io/runs';
import type { FromGallery, ToGallery } from '../../webview/shared/protocol';
import { classNames } from './runInfo';
import { RunsLocation } from './runsLocation';
import { TrainingController } from './training';
import { webviewDist, webviewHtml } from './webviewHtml';

export class GalleryViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  static readonly viewType = 'jit.gallery';
  private view: vscode.WebviewView | undefined;
  private runDir: string | undefined;
  /** The last fresh sample of the shown run, kept so that it survives the view being hidden. */
  private fresh: Extract<ToGallery, { type: 'samples' }> | undefined;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(private readonly extensionUri: vscode.Uri, private readonly location: RunsLocation, training: TrainingController) {
    this.subscriptions.push(
      training.onDidEvent(({ runDir, event }) => {
        if (event.type === 'started' && !this.runDir) this.showRun(runDir);
        if (event.type === 'samples' && runDir === this.runDir) this.send();
      }),
      location.onDidChange(() => this.configure()),
    );
  }

  dispose(): void {
    this.subscriptions.forEach((d) => d.dispose());
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    this.configure();
    view.webview.onDidReceiveMessage((m: FromGallery) => this.receive(m), undefined, this.subscriptions);
    view.onDidDispose(() => (this.view = undefined), undefined, this.subscriptions);
  }

  /** Narrow resource roots: the page's bundle and the runs folder (grids are files in it). */
  private configure(): void {
    if (!this.view) return;
    const root = this.location.current();
    this.view.webview.options = { enableScripts: true, enableForms: false, localResourceRoots: [webviewDist(this.extensionUri), ...(root ? [vscode.Uri.file(root)] : [])] };
    this.view.webview.html = webviewHtml(this.view.webview, this.extensionUri, 'gallery', 'JiT Sample Gallery');
  }

  showRun(runDir: string): void {
    if (runDir !== this.runDir) this.fresh = undefined;
    this.runDir = runDir;
    this.send();
  }

  /** Shows the images of a "JiT: Sample" of a run's checkpoint and brings the view forward. */
  showSamples(runDir: string, s: SampleOutcome): void {
    this.runDir = runDir;
    const names = classNames(runDir);
    const images = unpackTensor(s.tensors, 'images', 'uint8');
    const buffer = images.data.slice().buffer; // exactly this tensor's bytes
    this.fresh = {
      type: 'samples', id: path.basename(runDir),
      images: { buffer, n: s.n, size: s.imageSize, labels: s.labels.map((l) => names[l] ?? (l === names.length ? 'unconditional' : `class ${l}`)) },
      caption: `${path.basename(s.file)}: ${s.n} images, ${s.steps} ${s.method} steps, guidance ${s.cfgScale}, ${s.weights} weights, ${s.seconds.toFixed(1)} s`,
    };
    if (this.view) this.view.show(true);
    else void vscode.commands.executeCommand(`${GalleryViewProvider.viewType}.focus`);
    this.send();
  }

  private currentRun(): string | undefined {
    if (this.runDir && fs.existsSync(this.runDir)) return this.runDir;
    const root = this.location.current();
    return root ? discoverRuns(root)[0]?.dir : undefined;
  }

  private send(): void {
    const view = this.view;
    if (!view) return;
    const runDir = this.currentRun();
    if (!runDir) {
      void view.webview.postMessage({ type: 'empty', message: 'No runs yet: start one with "JiT: Train"; its sample grids appear here.' } satisfies ToGallery);
      return;
    }
    const grids = listSampleGrids(runDir).map((g) => ({
      step: g.step,
      uri: view.webview.asWebviewUri(vscode.Uri.file(g.file)).with({ query: `v=${fs.statSync(g.file).mtimeMs}` }).toString(),
    }));
    const id = path.basename(runDir);
    void view.webview.postMessage({ type: 'run', id, grids, caption: grids.length ? `${id}` : `${id} has no sample grids yet (one is written every few hundred steps and when training ends).` } satisfies ToGallery);
    if (this.fresh && this.fresh.id === id) void view.webview.postMessage(this.fresh);
  }

  private receive(m: FromGallery): void {
    if (m.type === 'ready') return this.send();
    if (m.type === 'sample') {
      void vscode.commands.executeCommand('jit.sample', this.runDir ? vscode.Uri.file(this.runDir) : undefined);
      return;
    }
    if (m.type === 'openGrid') {
      const runDir = this.currentRun();
      const grid = runDir ? listSampleGrids(runDir).find((g) => g.step === m.step) : undefined;
      if (grid) void vscode.commands.executeCommand('vscode.open', vscode.Uri.file(grid.file));
    }
  }
}
