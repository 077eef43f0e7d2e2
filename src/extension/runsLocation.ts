// Where runs live: the jit.runsFolder setting, else <first workspace folder>/.jit/runs; with no folder open the
// user picks the extension's storage or a folder once, and is told where runs go.
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import { defaultRunsRoot } from '../io/runs';
import type { QuickFlow } from './quickFlow';
import { readSettings } from './settings';

const NO_FOLDER_KEY = 'jit.runsRootWithoutFolder';

const expandHome = (p: string) => p.replace(/^~(?=$|[\\/])/, os.homedir());

function workspaceFolder(): string | undefined {
  const workspace = vscode.workspace.workspaceFolders?.[0]?.uri;
  return workspace?.scheme === 'file' ? workspace.fsPath : undefined;
}

export class RunsLocation implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly subscriptions: vscode.Disposable[] = [this.changed];

  constructor(private readonly context: vscode.ExtensionContext) {
    this.subscriptions.push(
      vscode.workspace.onDidChangeConfiguration((e) => (e.affectsConfiguration('jit.runsFolder') || e.affectsConfiguration('jit.extraRunFolders')) && this.changed.fire()),
      vscode.workspace.onDidChangeWorkspaceFolders(() => this.changed.fire()),
    );
  }

  dispose(): void {
    this.subscriptions.forEach((d) => d.dispose());
  }

  /** The runs folder, without asking; undefined when no folder is open and none was chosen yet. */
  current(): string | undefined {
    const setting = expandHome(readSettings().runsFolder);
    const local = workspaceFolder();
    if (setting && path.isAbsolute(setting)) return setting;
    if (local) return setting ? path.join(local, setting) : defaultRunsRoot(local);
    return this.context.globalState.get<string>(NO_FOLDER_KEY);
  }

  /**
   * The folders of jit.extraRunFolders, absolute (relative ones against the first workspace folder): official
   * output folders, or folders that hold several (a synced or mounted cluster folder, a Remote-SSH workspace).
   */
  extraFolders(): string[] {
    const local = workspaceFolder();
    return readSettings().extraRunFolders.map(expandHome).map((f) => (path.isAbsolute(f) ? f : local ? path.join(local, f) : undefined)).filter((f): f is string => f !== undefined);
  }

  /** Every folder runs are read from: the runs folder (when known) and those of jit.extraRunFolders. */
  folders(): string[] {
    const root = this.current();
    return [...(root ? [root] : []), ...this.extraFolders()];
  }

  /** The runs folder for a new run: with no folder open, asks once where runs go and says so. */
  async forNewRun(flow: QuickFlow): Promise<string | undefined> {
    const known = this.current();
    if (known) return known;
    const storage = path.join(this.context.globalStorageUri.fsPath, 'runs');
    const pick = await flow.pick([
      { label: '$(database) The extension\'s storage', detail: storage, dir: storage },
      { label: '$(folder-opened) Choose a folder…', detail: 'Runs are created inside the folder you pick', dir: undefined },
    ], { title: 'JiT: No folder is open — where should runs be saved?' });
    if (!pick) return undefined;
    let dir = pick.dir;
    if (!dir) {
      flow.close();
      const chosen = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Save Runs Here', title: 'Folder for JiT runs' });
      if (!chosen?.[0]) return undefined;
      dir = chosen[0].fsPath;
    }
    await this.context.globalState.update(NO_FOLDER_KEY, dir);
    void vscode.window.showInformationMessage(`No folder is open, so JiT runs are saved in ${dir} (set jit.runsFolder to choose another place).`);
    this.changed.fire();
    return dir;
  }
}
