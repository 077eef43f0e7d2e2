// One training at a time, run by the engine: the status-bar item (step/total, loss, images/s, ETA; a click
// opens the dashboard), a cancellable progress notification, the jit.training context key, and one message
// when it ends, including when the engine dies (the run stays resumable from its last checkpoint).
import * as path from 'path';
import * as vscode from 'vscode';
import { TrainParams } from '../engine/protocol';
import { TrainOutcome } from '../run/loop';
import { CancelledError, PeerExitedError, RemoteError } from '../engine/rpc';
import { listCheckpoints } from '../io/runs';
import type { TrainEvent } from '../run/loop';
import type { RunStatus } from '../wire/dashboardMessages';
import { EngineClient } from './engineClient';
import { readSettings } from './settings';
import { etaSeconds, formatDuration, formatLoss } from './format';

export interface TrainingEvent {
  runDir: string;
  event: TrainEvent;
}

interface Active {
  controller: AbortController;
  runDir?: string;
  status: RunStatus;
  /** Wall clock and step at the first step of this session, for the ETA. */
  firstStep?: { step: number; at: number };
  loss?: number;
  imagesPerSec?: number;
  lastCheckpoint?: { step: number; file: string };
  /** What trains it (from the engine's 'started' event). */
  engine?: string;
}

export class TrainingController implements vscode.Disposable {
  private active: Active | undefined;
  private readonly statusItem = vscode.window.createStatusBarItem('jit.training', vscode.StatusBarAlignment.Left, 50);
  private readonly events = new vscode.EventEmitter<TrainingEvent>();
  /** Every event of the running training, with its run folder. */
  readonly onDidEvent = this.events.event;
  private readonly statusChanged = new vscode.EventEmitter<{ runDir: string; status: RunStatus }>();
  readonly onDidChangeStatus = this.statusChanged.event;

  constructor(private readonly engine: EngineClient, private readonly log: vscode.LogOutputChannel) {
    this.statusItem.name = 'JiT Training';
    this.statusItem.command = 'jit.openDashboard';
  }

  dispose(): void {
    this.active?.controller.abort();
    this.statusItem.dispose();
    this.events.dispose();
    this.statusChanged.dispose();
  }

  /** True from the moment a training is requested until its outcome has been handled. */
  get busy(): boolean {
    return this.active !== undefined;
  }

  get runDir(): string | undefined {
    return this.active?.runDir;
  }

  /** The engine training `runDir` now, if it is the active training. */
  engineOf(runDir: string): string | undefined {
    return this.active?.runDir === runDir ? this.active.engine : undefined;
  }

  statusOf(runDir: string): RunStatus | undefined {
    return this.active?.runDir === runDir ? { ...this.active.status } : undefined;
  }

  /** Starts a training and resolves when it has ended (the outcome has been reported to the user). */
  async start(params: TrainParams, what: string): Promise<TrainOutcome | undefined> {
    if (this.active) {
      const s = this.active.status;
      void vscode.window.showWarningMessage(`A training is already running (${this.active.runDir ? path.basename(this.active.runDir) : 'starting'}, step ${s.step}/${s.totalSteps}): stop it with JiT: Stop Training before starting another.`);
      return undefined;
    }
    const a: Active = { controller: new AbortController(), status: { state: 'training', step: 0, totalSteps: params.overrides?.steps ?? params.untilStep ?? 0 } };
    this.active = a;
    void vscode.commands.executeCommand('setContext', 'jit.training', true);
    this.statusItem.text = '$(loading~spin) JiT: starting…';
    this.statusItem.tooltip = `Starting training on ${what}`;
    this.statusItem.show();
    try {
      return await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'JiT training', cancellable: true }, async (progress, token) => {
        token.onCancellationRequested(() => this.stop());
        progress.report({ message: `starting the engine for ${what}…` });
        const { peer } = await this.engine.ensure();
        progress.report({ message: 'preparing the data and the model…' });
        let reported = 0;
        const settings = readSettings();
        const outcome = await peer.request('train', { engine: settings.trainingEngine, ...params }, {
          signal: a.controller.signal, cancelGraceMs: 10 * 60_000,
          onProgress: (e) => {
            this.onEvent(a, e);
            if (e.type === 'step' && a.status.totalSteps > 0) {
              const pct = (100 * e.metrics.step) / a.status.totalSteps;
              progress.report({ increment: Math.max(0, pct - reported), message: this.summary(a) });
              reported = Math.max(reported, pct);
            } else if (e.type === 'started') progress.report({ message: `run ${path.basename(e.runDir)}: first step…` });
          },
        });
        this.reportOutcome(a, outcome);
        return outcome;
      });
    } catch (e) {
      this.reportFailure(a, e);
      return undefined;
    } finally {
      this.active = undefined;
      void vscode.commands.executeCommand('setContext', 'jit.training', false);
      this.statusItem.hide();
    }
  }

  /** Stops after the current step; the engine writes a checkpoint and the training's promise resolves. */
  stop(): boolean {
    const a = this.active;
    if (!a || a.controller.signal.aborted) return false;
    a.status = { ...a.status, state: 'stopping', etaSeconds: undefined };
    this.statusItem.text = `$(loading~spin) JiT: stopping at step ${a.status.step}…`;
    if (a.runDir) this.statusChanged.fire({ runDir: a.runDir, status: { ...a.status } });
    a.controller.abort();
    return true;
  }

  async saveCheckpoint(): Promise<boolean> {
    if (!this.active) return false;
    const { peer } = await this.engine.ensure();
    return (await peer.request('saveCheckpoint', {})).accepted;
  }

  private summary(a: Active): string {
    const s = a.status;
    const parts = [`step ${s.step}/${s.totalSteps}`];
    if (a.loss !== undefined) parts.push(`loss ${formatLoss(a.loss)}`);
    if (a.imagesPerSec !== undefined) parts.push(`${a.imagesPerSec.toFixed(1)} img/s`);
    if (s.etaSeconds !== undefined && Number.isFinite(s.etaSeconds)) parts.push(`ETA ${formatDuration(s.etaSeconds)}`);
    return parts.join(' · ');
  }

  private onEvent(a: Active, e: TrainEvent): void {
    switch (e.type) {
      case 'started':
        a.runDir = e.runDir;
        a.engine = e.engine;
        a.status = { state: 'training', step: e.step, totalSteps: e.config.steps };
        this.log.info(`Training ${path.basename(e.runDir)} on ${e.engine} (${e.config.preset}, ${e.dataset}, batch ${e.config.batch}, ${e.config.steps} steps${e.resumedFrom ? `, resumed from ${path.basename(e.resumedFrom)}` : ''}).`);
        break;
      case 'step': {
        const m = e.metrics;
        a.firstStep ??= { step: m.step - 1, at: Date.now() - 1000 * (m.seconds > 0 && m.step > 0 ? m.seconds / m.step : 0) };
        a.loss = m.loss;
        a.imagesPerSec = m.imagesPerSec;
        const eta = etaSeconds(m.step, a.firstStep.step, e.totalSteps, (Date.now() - a.firstStep.at) / 1000);
        a.status = { state: a.status.state === 'stopping' ? 'stopping' : 'training', step: m.step, totalSteps: e.totalSteps, etaSeconds: a.status.state === 'stopping' ? undefined : eta };
        if (a.status.state === 'training') {
          this.statusItem.text = `$(pulse) JiT ${this.summary(a)}`;
          this.statusItem.tooltip = `Training ${a.runDir ? path.basename(a.runDir) : ''} on ${a.engine ?? 'the engine'}: click to open the dashboard`;
        }
        break;
      }
      case 'checkpoint':
        a.lastCheckpoint = { step: e.step, file: e.file };
        this.log.info(`Checkpoint at step ${e.step}: ${e.file}`);
        break;
      case 'samples':
        this.log.info(`Sample grid at step ${e.step}: ${e.file}`);
        break;
      case 'log':
        this.log[e.level](e.message);
        break;
      case 'finished':
        a.status = { state: e.reason, step: e.step, totalSteps: a.status.totalSteps, message: e.message };
        break;
    }
    if (a.runDir) {
      this.events.fire({ runDir: a.runDir, event: e });
      if (e.type === 'step' || e.type === 'started' || e.type === 'finished') this.statusChanged.fire({ runDir: a.runDir, status: { ...a.status } });
    }
  }

  private reportOutcome(a: Active, o: TrainOutcome): void {
    const run = path.basename(o.runDir);
    const ck = a.lastCheckpoint ? path.basename(a.lastCheckpoint.file) : undefined;
    if (o.reason === 'diverged') {
      void vscode.window.showErrorMessage(a.status.message ?? `Training of ${run} diverged at step ${o.step}: lower the learning rate and resume from the last checkpoint.`);
    } else if (o.reason === 'stopped') {
      void vscode.window.showInformationMessage(`Training of ${run} stopped at step ${o.step}${ck ? ` with checkpoint ${ck}` : ''}: continue it with JiT: Resume Training.`, 'Resume Training').then((pick) => {
        if (pick && a.lastCheckpoint) void vscode.commands.executeCommand('jit.resumeTraining', vscode.Uri.file(a.lastCheckpoint.file));
      });
    } else {
      void vscode.window.showInformationMessage(`Training of ${run} finished at step ${o.step}${ck ? ` (checkpoint ${ck})` : ''}.`, 'Open Dashboard', 'Sample').then((pick) => {
        if (pick === 'Open Dashboard') void vscode.commands.executeCommand('jit.openDashboard', vscode.Uri.file(o.runDir));
        if (pick === 'Sample' && a.lastCheckpoint) void vscode.commands.executeCommand('jit.sample', vscode.Uri.file(a.lastCheckpoint.file));
      });
    }
  }

  private reportFailure(a: Active, e: unknown): void {
    const run = a.runDir ? path.basename(a.runDir) : undefined;
    if (a.runDir) this.statusChanged.fire({ runDir: a.runDir, status: { ...a.status, state: 'crashed', etaSeconds: undefined } });
    if (e instanceof PeerExitedError) {
      const last = a.runDir ? listCheckpoints(a.runDir).at(-1) : undefined;
      const keep = last ? `the run keeps its checkpoint at step ${last.step}: continue it with JiT: Resume Training` : 'no checkpoint had been written yet, so start it again with JiT: Start Training';
      this.log.error(`Training ${run ?? ''} ended because ${e.reason}.`);
      void vscode.window.showErrorMessage(`The JiT engine stopped during training (${e.reason}); ${keep}.`, 'Show Log').then((p) => p && this.log.show());
      return;
    }
    if (e instanceof CancelledError) {
      void vscode.window.showWarningMessage(`The engine did not confirm that training stopped; check the "JiT" output before resuming${run ? ` ${run}` : ''}.`);
      return;
    }
    const message = e instanceof Error ? e.message : String(e);
    this.log.error(`Training failed: ${e instanceof RemoteError && e.stack ? e.stack : message}`);
    void vscode.window.showErrorMessage(`Training failed: ${message}`, 'Show Log').then((p) => p && this.log.show());
  }
}
