// The Get Started walkthrough ("contributes.walkthroughs" in package.json): each step is completed when what it
// teaches has really happened, not when its button was pressed. These context keys, named in the steps'
// completionEvents as onContext:<key>, are set at those moments (VS Code remembers completed steps itself).
import type * as vscode from 'vscode';

export const WALKTHROUGH_ID = 'jit.gettingStarted';

export const WALKTHROUGH_KEYS = {
  /** The first loss point of a training run arrived. */
  trained: 'jit.walkthrough.trained',
  /** The dashboard page loaded and was sent a run. */
  dashboard: 'jit.walkthrough.dashboardShown',
  /** "JiT: Sample Images" wrote a sample grid. */
  sampled: 'jit.walkthrough.sampled',
  /** The trajectory viewer loaded a recorded trajectory. */
  trajectory: 'jit.walkthrough.trajectoryOpened',
  /** The tensor inspector read a checkpoint. */
  inspected: 'jit.walkthrough.checkpointInspected',
} as const;

export type WalkthroughStep = keyof typeof WALKTHROUGH_KEYS;

/** Marks `step` as done (vscode.commands is passed in so this module stays loadable outside VS Code). */
export function completeWalkthroughStep(commands: typeof vscode.commands, step: WalkthroughStep): void {
  void commands.executeCommand('setContext', WALKTHROUGH_KEYS[step], true);
}
