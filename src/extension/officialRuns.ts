// Official runs (output folders of the official main_jit.py) in the folders the jit.extraRunFolders setting lists:
// found on demand, followed by file watchers, with what their checkpoints say (args, epoch, step; read from the
// pickle only) and their sanity warnings (the loss curve from the event files here; the weight checks in the
// engine, for the newest checkpoint) cached per file version. Listeners hear when anything arrives.
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { SanityWarning, lossRestartWarnings } from '../io/checkpointSanity';
import { OfficialRunInfo, OfficialRunSummary, discoverOfficialRuns, latestCheckpoint, readOfficialRunInfo } from '../io/officialOutput';
import { EventLogReader, listEventFiles } from '../io/tensorboard/reader';
import type { EngineClient } from './engineClient';
import type { RunsLocation } from './runsLocation';

/** A file's identity for caching: path, size and modification time. */
function version(file: string): string | undefined {
  try {
    const st = fs.statSync(file);
    return `${file}:${st.size}:${st.mtimeMs}`;
  } catch {
    return undefined;
  }
}

export class OfficialRuns implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<string>();
  /** Fires with a run folder whose files or cached facts changed. */
  readonly onDidChange = this.changed.event;
  private readonly infos = new Map<string, { key: string; value: Promise<OfficialRunInfo | undefined> }>();
  private readonly sanity = new Map<string, { key: string; value: SanityWarning[] | undefined }>();
  private watchers: vscode.FileSystemWatcher[] = [];
  private watched = '';
  private readonly subscriptions: vscode.Disposable[] = [this.changed];

  constructor(private readonly location: RunsLocation, private readonly engine: EngineClient, private readonly log: vscode.LogOutputChannel) {
    this.subscriptions.push(location.onDidChange(() => this.watch()));
    this.watch();
  }

  dispose(): void {
    this.watchers.forEach((w) => w.dispose());
    this.subscriptions.forEach((d) => d.dispose());
  }

  /** Watches each extra folder (and the output folders in it) for checkpoints, event files and samples. */
  private watch(): void {
    const folders = this.location.extraFolders();
    if (folders.join('\n') === this.watched) return;
    this.watched = folders.join('\n');
    this.watchers.forEach((w) => w.dispose());
    this.watchers = folders.filter((f) => fs.existsSync(f)).map((f) => {
      const w = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(f), '{*,*/*,*/*/*}'));
      const fire = (uri: vscode.Uri) => this.changed.fire(this.runOfFile(uri.fsPath));
      w.onDidCreate(fire);
      w.onDidChange(fire);
      w.onDidDelete(fire);
      return w;
    });
  }

  private runOfFile(file: string): string {
    const dir = path.dirname(file);
    return path.basename(dir) === 'samples' ? path.dirname(dir) : dir;
  }

  list(): OfficialRunSummary[] {
    return discoverOfficialRuns(this.location.extraFolders());
  }

  /** Whether `dir` is one of the official runs shown (what a webview may ask for). */
  find(dir: string): OfficialRunSummary | undefined {
    return this.list().find((r) => r.dir === dir);
  }

  /** The args, epoch and step of a run's newest checkpoint (undefined without one, or when it cannot be read). */
  info(dir: string): Promise<OfficialRunInfo | undefined> {
    const file = latestCheckpoint(dir);
    const key = file && version(file);
    if (!file || !key) return Promise.resolve(undefined);
    const known = this.infos.get(dir);
    if (known?.key === key) return known.value;
    const value = readOfficialRunInfo(file).catch((e) => {
      this.log.warn(`Cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`);
      return undefined;
    });
    this.infos.set(dir, { key, value });
    return value;
  }

  /** Cached sanity warnings; undefined until checked (then onDidChange fires). */
  warnings(dir: string): SanityWarning[] | undefined {
    const key = this.sanityKey(dir);
    const known = this.sanity.get(dir);
    if (known?.key === key) return known.value;
    this.sanity.set(dir, { key, value: undefined });
    void this.check(dir, key);
    return undefined;
  }

  /** A new checkpoint or a new event file (a new process) is worth a new check; a growing event file is not. */
  private sanityKey(dir: string): string {
    const ck = latestCheckpoint(dir);
    return [ck && version(ck), ...listEventFiles(dir)].join('|');
  }

  private async check(dir: string, key: string): Promise<void> {
    const out: SanityWarning[] = [];
    try {
      const points: [number, number][] = [];
      await new EventLogReader(dir).read((e) => {
        for (const s of e.scalars) if (s.tag === 'train_loss') points.push([e.step, s.value]);
      });
      out.push(...lossRestartWarnings(points, 'x (epoch x 1000)'));
      const ck = latestCheckpoint(dir);
      if (ck) {
        const { peer } = await this.engine.ensure();
        out.push(...(await peer.request('checkpointSanity', { file: ck })).warnings);
      }
    } catch (e) {
      this.log.warn(`Sanity checks of ${dir} did not finish: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (this.sanity.get(dir)?.key !== key) return; // the files changed meanwhile: a newer check runs
    this.sanity.set(dir, { key, value: out });
    this.changed.fire(dir);
  }
}
