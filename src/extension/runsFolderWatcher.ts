// A file watcher on the runs folder that follows it: recreated when the folder setting changes or the folder
// comes into existence. The Runs tree and the Sample Gallery each watch the files they show.
import * as fs from 'fs';
import * as vscode from 'vscode';
import type { RunsLocation } from './runsLocation';

export class RunsFolderWatcher implements vscode.Disposable {
  private watcher: vscode.FileSystemWatcher | undefined;
  private watchedRoot: string | undefined;

  constructor(private readonly location: RunsLocation, private readonly glob: string, private readonly onChange: () => void,
    private readonly events: ('create' | 'change' | 'delete')[] = ['create', 'change', 'delete']) {}

  /** (Re)creates the watcher when the runs folder moved or came into existence; cheap when nothing changed. */
  ensure(): void {
    const root = this.location.current();
    if (root === this.watchedRoot && this.watcher) return;
    this.watcher?.dispose();
    this.watcher = undefined;
    this.watchedRoot = root;
    if (!root || !fs.existsSync(root)) return;
    this.watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(root), this.glob));
    if (this.events.includes('create')) this.watcher.onDidCreate(this.onChange);
    if (this.events.includes('change')) this.watcher.onDidChange(this.onChange);
    if (this.events.includes('delete')) this.watcher.onDidDelete(this.onChange);
  }

  dispose(): void {
    this.watcher?.dispose();
    this.watcher = undefined;
  }
}
