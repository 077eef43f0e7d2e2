// Restricted Mode: training, sampling and importing run code on this folder's files (datasets, checkpoints,
// run configurations), so they are refused until the folder is trusted, also when a command is invoked directly.
import * as vscode from 'vscode';

export function restrictedModeMessage(action: string): string {
  return `${action} is not available in Restricted Mode because it runs code on files from this folder; trust the folder (Manage Workspace Trust) to allow it.`;
}

/** True when trusted; otherwise says why not and offers to manage trust. */
export function ensureTrusted(action: string): boolean {
  if (vscode.workspace.isTrusted) return true;
  void vscode.window.showWarningMessage(restrictedModeMessage(action), 'Manage Workspace Trust').then((pick) => {
    if (pick) void vscode.commands.executeCommand('workbench.trust.manage');
  });
  return false;
}
