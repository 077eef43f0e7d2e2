// The Manifold Lab panel: relays the page's request to the engine's `manifoldLab` method, streams its progress
// back, and hands over the result (points and trajectories as one binary pack). One run at a time; closing the
// panel or pressing Cancel stops it.
import * as vscode from 'vscode';
import type { LabParams } from '../engine/labService';
import { CancelledError } from '../engine/rpc';
import type { FromLab, LabRequest, LabResult, LabResultView, LabState, ToLab } from '../wire/labMessages';
import { EngineClient } from './engineClient';
import { webviewDist, webviewHtml } from './webviewHtml';

/** What the engine is asked for a request from the page (the sampler and batch keep the lab's defaults). */
export function labParams(r: LabRequest): LabParams {
  return { data: r.data, dims: [...r.dims], targets: [...r.targets], steps: r.steps, seed: r.seed };
}

export function labResultView(request: LabRequest, r: LabResult): LabResultView {
  return {
    request: { data: request.data, dims: r.dims, targets: r.targets, steps: r.steps, seed: r.seed },
    referenceDistance: r.referenceDistance,
    cells: r.cells,
    pack: r.tensors,
  };
}

export class LabPanel implements vscode.Disposable {
  static readonly viewType = 'jit.manifoldLab';
  private static current: LabPanel | undefined;
  private run: AbortController | undefined;
  private last: ToLab | undefined;
  private readonly subs: vscode.Disposable[] = [];

  static show(extensionUri: vscode.Uri, engine: EngineClient, log: vscode.LogOutputChannel): LabPanel {
    if (LabPanel.current) {
      LabPanel.current.panel.reveal();
      return LabPanel.current;
    }
    const panel = vscode.window.createWebviewPanel(LabPanel.viewType, 'Manifold Lab', vscode.ViewColumn.Active, LabPanel.options(extensionUri));
    return new LabPanel(panel, extensionUri, engine, log);
  }

  static revive(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, engine: EngineClient, log: vscode.LogOutputChannel, _state: LabState | undefined): LabPanel {
    LabPanel.current?.panel.dispose();
    panel.webview.options = LabPanel.options(extensionUri);
    return new LabPanel(panel, extensionUri, engine, log);
  }

  private static options(extensionUri: vscode.Uri): vscode.WebviewPanelOptions & vscode.WebviewOptions {
    return { enableScripts: true, enableForms: false, localResourceRoots: [webviewDist(extensionUri)], retainContextWhenHidden: false };
  }

  private constructor(readonly panel: vscode.WebviewPanel, extensionUri: vscode.Uri, private readonly engine: EngineClient, private readonly log: vscode.LogOutputChannel) {
    LabPanel.current = this;
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'jit-activity.svg');
    panel.webview.html = webviewHtml(panel.webview, extensionUri, 'lab', 'Manifold Lab');
    this.subs.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((m: FromLab) => this.receive(m)),
    );
  }

  private post(m: ToLab): void {
    void this.panel.webview.postMessage(m);
  }

  private receive(m: FromLab): void {
    switch (m.type) {
      case 'ready':
        // A page that was hidden (or reloaded) gets the run's state back: the running request or the last result.
        if (this.last) this.post(this.last);
        return;
      case 'run':
        void this.start(m.request);
        return;
      case 'cancel':
        this.run?.abort();
        return;
    }
  }

  private async start(request: LabRequest): Promise<void> {
    if (this.run) return;
    const controller = new AbortController();
    this.run = controller;
    this.last = { type: 'started', request };
    this.post(this.last);
    try {
      const { peer } = await this.engine.ensure();
      const r = await peer.request('manifoldLab', labParams(request), {
        signal: controller.signal, cancelGraceMs: 30_000,
        onProgress: (p) => this.post({ type: 'progress', progress: p }),
      });
      this.last = { type: 'result', result: labResultView(request, r) };
      this.post(this.last);
    } catch (e) {
      const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0];
      if (controller.signal.aborted || e instanceof CancelledError || /cancelled/.test(msg)) {
        this.last = { type: 'stopped', message: 'The run was cancelled.' };
      } else {
        this.log.warn(`Manifold Lab: ${msg}`);
        this.last = { type: 'error', message: msg };
      }
      this.post(this.last);
    } finally {
      if (this.run === controller) this.run = undefined;
    }
  }

  dispose(): void {
    this.run?.abort();
    if (LabPanel.current === this) LabPanel.current = undefined;
    this.subs.forEach((d) => d.dispose());
    this.panel.dispose();
  }
}
