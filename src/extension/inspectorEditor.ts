// The tensor inspector: a read-only custom editor for *.safetensors and *.pth with a trivial document. The engine
// opens the file (header only) and reads each tensor by byte range when the page asks for it; this class only
// relays messages, so a 1 GB checkpoint opens without blocking the window. A file that cannot be read shows its
// one-line error in the editor.
import * as path from 'path';
import * as vscode from 'vscode';
import type { InspectCompareResult, InspectTensorResult } from '../engine/inspectorService';
import { ENGINE_TIMEOUTS } from '../engine/protocol';
import type { CompareView, FromInspector, TensorDetail, ToInspector } from '../wire/inspectorMessages';
import { EngineClient } from './engineClient';
import { webviewDist, webviewHtml } from './webviewHtml';
import { completeWalkthroughStep } from './walkthrough';

class InspectorDocument implements vscode.CustomDocument {
  constructor(readonly uri: vscode.Uri) {}
  dispose(): void {}
}

function message(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}

export function tensorDetail(r: InspectTensorResult): TensorDetail {
  const { tensors, filters, ...rest } = r;
  return { ...rest, filters, pack: tensors };
}

export function compareView(r: InspectCompareResult): CompareView {
  const { tensors, ...rest } = r;
  return { ...rest, pack: tensors };
}

/** One open inspector editor. */
class InspectorEditor {
  private session: Promise<number> | undefined;
  private disposed = false;

  constructor(private readonly panel: vscode.WebviewPanel, private readonly file: string, private readonly engine: EngineClient, private readonly log: vscode.LogOutputChannel) {}

  post(m: ToInspector): void {
    if (!this.disposed) void this.panel.webview.postMessage(m);
  }

  /** The engine session of this file, opened on first use (and again after an engine restart). */
  private async open(): Promise<number> {
    const { peer } = await this.engine.ensure();
    const r = await peer.request('inspectOpen', { file: this.file }, { timeoutMs: ENGINE_TIMEOUTS.inspectOpen });
    this.post({
      type: 'file',
      file: {
        fileName: path.basename(this.file), format: r.format, fileBytes: r.fileBytes, metadata: r.metadata, tensors: r.tensors,
        totalParams: r.totalParams, totalBytes: r.totalBytes, tree: r.tree, emaCopies: r.emaCopies, warnings: r.warnings,
      },
    });
    return r.session;
  }

  async receive(m: FromInspector): Promise<void> {
    try {
      switch (m.type) {
        case 'ready':
          this.session = this.open();
          await this.session;
          completeWalkthroughStep(vscode.commands, 'inspected');
          return;
        case 'tensor': {
          const r = await this.withSession((session, peer) => peer.request('inspectTensor', { session, name: m.name, rowAxis: m.rowAxis, colAxis: m.colAxis, index: m.index }, { timeoutMs: ENGINE_TIMEOUTS.inspectTensor }));
          this.post({ type: 'tensor', tensor: tensorDetail(r) });
          return;
        }
        case 'compareEma':
          this.post({ type: 'busy', message: `Comparing ${m.ema} with the online weights…` });
          await this.compare({ ema: m.ema });
          return;
        case 'compareFile': {
          const picked = await vscode.window.showOpenDialog({
            title: `Compare ${path.basename(this.file)} with`, canSelectMany: false, defaultUri: vscode.Uri.file(path.dirname(this.file)),
            filters: { Checkpoints: ['safetensors', 'pth', 'pt'] },
          });
          if (picked?.[0]) await this.compareWithFile(picked[0].fsPath);
          return;
        }
      }
    } catch (e) {
      const fatal = m.type === 'ready';
      this.log.warn(`Tensor inspector (${this.file}): ${message(e)}`);
      this.post({ type: 'error', message: message(e), fatal });
      if (fatal) this.session = undefined;
    }
  }

  async compareWithFile(other: string): Promise<void> {
    this.post({ type: 'busy', message: `Comparing with ${path.basename(other)}…` });
    await this.compare({ file: other });
  }

  private async compare(against: { file: string } | { ema: 'ema1' | 'ema2' }): Promise<void> {
    const r = await this.withSession((session, peer) => peer.request('inspectCompare', { session, against }, { timeoutMs: ENGINE_TIMEOUTS.inspectCompare }));
    this.post({ type: 'compare', compare: compareView(r) });
  }

  private async withSession<T>(fn: (session: number, peer: Awaited<ReturnType<EngineClient['ensure']>>['peer']) => Promise<T>): Promise<T> {
    if (!this.session) this.session = this.open();
    const session = await this.session;
    const { peer } = await this.engine.ensure();
    try {
      return await fn(session, peer);
    } catch (e) {
      // A restarted engine no longer knows the session: open the file again once.
      if (!/no longer open/.test(message(e))) throw e;
      this.session = this.open();
      return fn(await this.session, peer);
    }
  }

  dispose(): void {
    this.disposed = true;
    const s = this.session;
    const proc = this.engine.lastInfo;
    if (s && proc) void s.then(async (session) => (await this.engine.ensure()).peer.request('inspectClose', { session })).catch(() => undefined);
  }
}

export class TensorInspectorProvider implements vscode.CustomReadonlyEditorProvider<InspectorDocument> {
  static readonly viewType = 'jit.tensorInspector';
  private readonly editors = new Map<string, Set<InspectorEditor>>();
  private readonly pendingCompare = new Map<string, string>();

  constructor(private readonly extensionUri: vscode.Uri, private readonly engine: EngineClient, private readonly log: vscode.LogOutputChannel) {}

  static register(context: vscode.ExtensionContext, provider: TensorInspectorProvider): vscode.Disposable {
    return vscode.window.registerCustomEditorProvider(TensorInspectorProvider.viewType, provider, {
      supportsMultipleEditorsPerDocument: true,
      webviewOptions: { retainContextWhenHidden: false },
    });
  }

  openCustomDocument(uri: vscode.Uri): InspectorDocument {
    return new InspectorDocument(uri);
  }

  /** Opens `file` in the inspector and compares it with `other` once the page is ready. */
  async openAndCompare(file: vscode.Uri, other: string): Promise<void> {
    const open = this.editors.get(file.fsPath);
    if (open?.size) {
      await vscode.commands.executeCommand('vscode.openWith', file, TensorInspectorProvider.viewType);
      await [...open][0].compareWithFile(other);
      return;
    }
    this.pendingCompare.set(file.fsPath, other);
    await vscode.commands.executeCommand('vscode.openWith', file, TensorInspectorProvider.viewType);
  }

  resolveCustomEditor(document: InspectorDocument, panel: vscode.WebviewPanel): void {
    const file = document.uri.fsPath;
    // The page loads only its own bundle: tensor data arrives as messages, never as resources.
    panel.webview.options = { enableScripts: true, enableForms: false, localResourceRoots: [webviewDist(this.extensionUri)] };
    panel.webview.html = webviewHtml(panel.webview, this.extensionUri, 'inspector', `Tensors of ${path.basename(file)}`);
    const editor = new InspectorEditor(panel, file, this.engine, this.log);
    const set = this.editors.get(file) ?? new Set();
    set.add(editor);
    this.editors.set(file, set);
    const sub = panel.webview.onDidReceiveMessage(async (m: FromInspector) => {
      await editor.receive(m);
      const other = m.type === 'ready' ? this.pendingCompare.get(file) : undefined;
      if (other) {
        this.pendingCompare.delete(file);
        await editor.compareWithFile(other).catch((e) => editor.post({ type: 'error', message: message(e), fatal: false }));
      }
    });
    panel.onDidDispose(() => {
      sub.dispose();
      editor.dispose();
      set.delete(editor);
      if (!set.size) this.editors.delete(file);
    });
  }
}
