// The training dashboard (a webview panel): the run's metric series from metrics.jsonl plus the live steps
// streamed by the engine, the t-density, the latest sample grid, the configuration, and other runs to overlay.
// The page keeps its view settings with setState; the host re-sends all data whenever the page (re)loads, so
// hide/show and window reload (through the serializer) restore the panel with its data.
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { unpackTensor } from '../wire/tensorPack';
import { OfficialCurve, isOfficialOutput } from '../io/officialOutput';
import { listSampleGrids, runPaths } from '../io/runs';
import { EventLogReader } from '../io/tensorboard/reader';
import { packColumns } from '../wire/columns';
import type { DashboardState, FromDashboard, RunStatus, SampleView, ToDashboard } from '../wire/dashboardMessages';
import { EngineClient } from './engineClient';
import { OFFICIAL_ID, officialRunView, readRunFile, runChoices, runDirById, runView } from './runInfo';
import { RunSeries } from './runSeries';
import { RunsLocation } from './runsLocation';
import type { OfficialRuns } from './officialRuns';
import { TrainingController } from './training';
import { webviewDist, webviewHtml } from './webviewHtml';
import { completeWalkthroughStep } from './walkthrough';

export interface DashboardDeps {
  extensionUri: vscode.Uri;
  engine: EngineClient;
  training: TrainingController;
  location: RunsLocation;
  official: OfficialRuns;
  log: vscode.LogOutputChannel;
}

const DENSITY_POINTS = 100;
/** How often an official run's event files are read for new points (they may be on a synced or mounted folder). */
const FOLLOW_MS = 2000;

/** Whether `file` is `folder` or lies under it. */
const isInside = (file: string, folder: string) => !path.relative(folder, file).startsWith('..') && !path.isAbsolute(path.relative(folder, file));

export class DashboardPanel implements vscode.Disposable {
  static readonly viewType = 'jit.dashboard';
  private static current: DashboardPanel | undefined;

  private series = new RunSeries();
  private readonly subscriptions: vscode.Disposable[] = [];
  private readonly densityCache = new Map<string, ToDashboard>();
  /** The official run shown: its event files, read on from where they stopped, and the curve they make. */
  private official: { dir: string; reader: EventLogReader; curve: OfficialCurve; itersPerEpoch?: number; sent: string } | undefined;
  private readonly follow = setInterval(() => void this.followOfficial(), FOLLOW_MS);

  /** Shows the dashboard of a run, reusing the open panel. */
  static show(deps: DashboardDeps, runDir: string, preserveFocus = false): DashboardPanel {
    const cur = DashboardPanel.current;
    if (cur) {
      cur.switchTo(runDir);
      cur.panel.reveal(undefined, preserveFocus);
      return cur;
    }
    const panel = vscode.window.createWebviewPanel(DashboardPanel.viewType, 'JiT Dashboard', { viewColumn: vscode.ViewColumn.Active, preserveFocus }, DashboardPanel.options(deps, runDir));
    return new DashboardPanel(panel, deps, runDir);
  }

  /** Restores a panel after a window reload (WebviewPanelSerializer). */
  static revive(deps: DashboardDeps, panel: vscode.WebviewPanel, state: DashboardState | undefined): DashboardPanel {
    DashboardPanel.current?.panel.dispose();
    const runDir = state?.runDir ?? deps.training.runDir ?? '';
    panel.webview.options = DashboardPanel.options(deps, runDir);
    return new DashboardPanel(panel, deps, runDir);
  }

  static get open(): DashboardPanel | undefined {
    return DashboardPanel.current;
  }

  private static options(deps: DashboardDeps, runDir: string): vscode.WebviewPanelOptions & vscode.WebviewOptions {
    // Only the page's own bundle and the folders the runs' sample grids live in. The runs folders rather than
    // this run's samples folder, so that switching runs changes only the page, not the options: each of the two
    // makes the webview load its page again.
    const folders = deps.location.folders();
    const samples = runDir ? runPaths(runDir).samples : undefined;
    if (samples && !folders.some((f) => isInside(samples, f))) folders.push(samples);
    const roots = [webviewDist(deps.extensionUri), ...folders.map((f) => vscode.Uri.file(f))];
    return { enableScripts: true, enableForms: false, localResourceRoots: roots, retainContextWhenHidden: false };
  }

  private constructor(readonly panel: vscode.WebviewPanel, private readonly deps: DashboardDeps, private runDir: string) {
    DashboardPanel.current = this;
    panel.iconPath = vscode.Uri.joinPath(deps.extensionUri, 'media', 'jit-activity.svg');
    this.render();
    this.subscriptions.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((m: FromDashboard) => this.receive(m)),
      deps.training.onDidEvent(({ runDir, event }) => {
        if (runDir !== this.runDir) return;
        if (event.type === 'started') this.sendRun(); // the engine it trains on
        else if (event.type === 'step') {
          const from = this.series.rows.length;
          if (this.series.add(event.metrics) === 'rewind') this.sendRun();
          else this.post({ type: 'append', series: this.series.pack(from) });
        } else if (event.type === 'quality') {
          const from = this.series.quality.length;
          if (this.series.addQuality(event.metrics) === 'rewind') this.sendRun();
          else this.post({ type: 'appendQuality', quality: this.series.packQuality(from) });
        } else if (event.type === 'samples') {
          const s = this.sampleView(event.file, event.step);
          if (s) this.post({ type: 'sample', sample: s });
        }
      }),
      deps.training.onDidChangeStatus(({ runDir, status }) => runDir === this.runDir && this.post({ type: 'status', status })),
    );
  }

  get run(): string {
    return this.runDir;
  }

  dispose(): void {
    clearInterval(this.follow);
    if (DashboardPanel.current === this) DashboardPanel.current = undefined;
    this.subscriptions.forEach((d) => d.dispose());
    this.panel.dispose();
  }

  private switchTo(runDir: string): void {
    if (runDir === this.runDir) return;
    this.runDir = runDir;
    const options = DashboardPanel.options(this.deps, runDir);
    const roots = (o: vscode.WebviewOptions) => (o.localResourceRoots ?? []).map((u) => u.toString()).join('\n');
    if (roots(options) !== roots(this.panel.webview.options)) this.panel.webview.options = options;
    this.render();
  }

  private render(): void {
    this.panel.title = this.runDir ? `JiT: ${path.basename(this.runDir)}` : 'JiT Dashboard';
    this.panel.webview.html = webviewHtml(this.panel.webview, this.deps.extensionUri, 'dashboard', 'JiT Dashboard');
  }

  private post(m: ToDashboard): void {
    void this.panel.webview.postMessage(m);
  }

  private receive(m: FromDashboard): void {
    switch (m.type) {
      case 'ready':
        this.sendRun();
        void this.sendDensity();
        return;
      case 'overlay':
        void this.sendOverlay(m.id);
        return;
      case 'stop':
        void vscode.commands.executeCommand('jit.stopTraining');
        return;
      case 'saveCheckpoint':
        void vscode.commands.executeCommand('jit.saveCheckpoint');
        return;
      case 'openSample': {
        const last = listSampleGrids(this.runDir).at(-1);
        if (last) void vscode.commands.executeCommand('vscode.open', vscode.Uri.file(last.file), { viewColumn: vscode.ViewColumn.Beside });
        return;
      }
    }
  }

  private sampleView(file: string, step: number): SampleView | undefined {
    if (!fs.existsSync(file)) return undefined;
    // The file's modification time busts the webview's cache when a grid is rewritten after a resume.
    const uri = this.panel.webview.asWebviewUri(vscode.Uri.file(file)).with({ query: `v=${fs.statSync(file).mtimeMs}` });
    return { uri: uri.toString(), step, caption: `${path.basename(file)} (EMA weights, ${path.basename(this.runDir)})` };
  }

  /** The runs to overlay: this runs folder's, and the official runs of jit.extraRunFolders. */
  private choices(exceptDir: string) {
    const official = this.deps.official.list().filter((o) => o.dir !== exceptDir).map((o) => ({ id: `${OFFICIAL_ID}${o.name}`, preset: 'official run', steps: 0 }));
    return [...runChoices(this.deps.location.current()).filter((r) => r.id !== path.basename(exceptDir)), ...official];
  }

  private async sendOverlay(id: string): Promise<void> {
    if (id.startsWith(OFFICIAL_ID)) {
      const o = this.deps.official.list().find((r) => `${OFFICIAL_ID}${r.name}` === id);
      if (!o) return this.post({ type: 'error', message: `The official run "${id}" is no longer in the folders of jit.extraRunFolders.` });
      const curve = new OfficialCurve();
      await new EventLogReader(o.dir).read((e) => curve.add(e));
      const series = RunSeries.fromOfficial(curve.rows, (await this.deps.official.info(o.dir))?.itersPerEpoch);
      this.post({ type: 'overlay', id, series: series.pack(), quality: series.packQuality() });
      return;
    }
    const dir = runDirById(this.deps.location.current(), id);
    if (!dir) return this.post({ type: 'error', message: `The run "${id}" is no longer in the runs folder.` });
    const series = RunSeries.fromFile(runPaths(dir).metrics, readRunFile(dir)?.datasetSize);
    this.post({ type: 'overlay', id, series: series.pack(), quality: series.packQuality() });
  }

  /** An official output folder: its curve from the event files (followed as they grow), its args as configuration. */
  private async sendOfficialRun(): Promise<void> {
    const dir = this.runDir;
    const info = await this.deps.official.info(dir);
    const official = { dir, reader: new EventLogReader(dir), curve: new OfficialCurve(), itersPerEpoch: info?.itersPerEpoch, sent: '' };
    await official.reader.read((e) => official.curve.add(e));
    if (this.runDir !== dir) return;
    this.official = official;
    this.postOfficial();
  }

  private postOfficial(): void {
    const o = this.official!;
    this.series = RunSeries.fromOfficial(o.curve.rows, o.itersPerEpoch);
    o.sent = JSON.stringify(o.curve.rows.at(-1) ?? null) + o.curve.rows.length;
    void this.deps.official.info(o.dir).then((info) => {
      if (this.official !== o) return;
      const view = officialRunView(o.dir, info);
      const last = listSampleGrids(o.dir).at(-1);
      this.post({
        type: 'run', runDir: o.dir, run: view, series: this.series.pack(), quality: this.series.packQuality(), status: { state: 'idle', step: this.series.lastStep, totalSteps: view.totalSteps },
        sample: last ? this.sampleView(last.file, last.step) : undefined, runs: this.choices(o.dir),
      });
    });
  }

  /** Reads what the official run's event files gained; the page gets the curve again when it changed. */
  private async followOfficial(): Promise<void> {
    const o = this.official;
    if (!o || o.dir !== this.runDir) return;
    const { reset } = await o.reader.read((e) => o.curve.add(e));
    if (this.official !== o) return;
    if (reset) return void this.sendOfficialRun();
    if (JSON.stringify(o.curve.rows.at(-1) ?? null) + o.curve.rows.length !== o.sent) this.postOfficial();
  }

  private sendRun(): void {
    this.official = undefined;
    if (this.runDir && isOfficialOutput(this.runDir)) {
      void this.sendOfficialRun();
      return;
    }
    if (!this.runDir || !fs.existsSync(runPaths(this.runDir).runFile)) {
      this.post({ type: 'error', message: this.runDir ? `The run folder ${this.runDir} no longer exists (or has no run.json).` : 'No run to show: start one with JiT: Start Training.' });
      return;
    }
    this.series = RunSeries.fromFile(runPaths(this.runDir).metrics, readRunFile(this.runDir)?.datasetSize);
    const training = this.deps.training.statusOf(this.runDir);
    // Devices and the engine are known for the run being trained; for others the table shows what run.json says.
    const b = training ? this.deps.engine.lastInfo?.backend : undefined;
    const engine = this.deps.training.engineOf(this.runDir);
    const view = runView(this.runDir, b && !engine?.startsWith('ONNX') ? `${b.devices.join(', ')} (${b.package})` : undefined, engine);
    const status: RunStatus = training ?? { state: 'idle', step: this.series.lastStep, totalSteps: view.totalSteps };
    const last = listSampleGrids(this.runDir).at(-1);
    this.post({
      type: 'run', runDir: this.runDir, run: view, series: this.series.pack(), quality: this.series.packQuality(), status,
      sample: last ? this.sampleView(last.file, last.step) : undefined,
      runs: this.choices(this.runDir),
    });
    completeWalkthroughStep(vscode.commands, 'dashboard');
  }

  private async sendDensity(): Promise<void> {
    const view = runView(this.runDir);
    const key = `${view.pMean}:${view.pStd}`;
    let msg = this.densityCache.get(key);
    if (!msg) {
      try {
        const { peer } = await this.deps.engine.ensure();
        const pack = await peer.request('tDensity', { pMean: view.pMean, pStd: view.pStd, points: DENSITY_POINTS });
        msg = { type: 'density', density: packColumns({ t: unpackTensor(pack, 't', 'float64').data, density: unpackTensor(pack, 'density', 'float64').data }) };
        this.densityCache.set(key, msg);
      } catch (e) {
        this.deps.log.warn(`No t-density for the dashboard: ${e instanceof Error ? e.message : String(e)}`);
        return;
      }
    }
    this.post(msg);
  }
}
