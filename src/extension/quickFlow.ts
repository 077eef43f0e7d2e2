// Every question the extension asks in a quick input, asked through one QuickFlow per command.
//
// Why not showQuickPick/showInputBox: they close on Enter, and closing hands the keyboard back to whatever had it
// before the command, e.g. the button of a Get Started step. That button then takes the Enter's keyup as a press,
// and 250 ms later VS Code focuses the step, pulling the keyboard away from the command's next question: the user's
// next Enter reaches the walkthrough and the question waits. A flow keeps its widget open from one question to
// the next (showing the next one replaces it, which VS Code does without moving the focus), so the keyboard goes
// back once, when the command has all its answers.
//
// Every question keeps its place when the focus moves (ignoreFocusOut): otherwise a webview that takes the focus
// while it loads (a panel opening, the gallery refreshing) closes it silently and its command never runs.
import * as vscode from 'vscode';

export interface PickOptions {
  title: string;
  placeHolder?: string;
  /** Filter on the items' details too (off by default, as in showQuickPick). */
  matchOnDetail?: boolean;
}

export interface InputOptions {
  title: string;
  prompt?: string;
  value?: string;
  /** A message while the value is not acceptable; Enter is refused until it is. */
  validateInput?: (value: string) => string | undefined;
}

export class QuickFlow {
  /** The question showing now: answered ones stay up (busy) until the next question or close() replaces them. */
  private shown: vscode.QuickInput | undefined;
  /** The user closed a question after answering it (Escape while the next one was being prepared). */
  private cancelled = false;

  /** One item of `items` (the first is active: Enter takes it); undefined when the user pressed Escape. */
  pick<T extends vscode.QuickPickItem>(items: readonly T[], o: PickOptions): Promise<T | undefined> {
    const q = vscode.window.createQuickPick<T>();
    q.items = items;
    q.title = o.title;
    q.placeholder = o.placeHolder;
    q.matchOnDescription = false;
    q.matchOnDetail = o.matchOnDetail ?? false;
    return this.ask<T>(q, (answer) => [q.onDidAccept(() => {
      const item = q.selectedItems[0] ?? q.activeItems[0];
      if (item) answer(item);
    })]);
  }

  /** A text that passes `validateInput`; undefined when the user pressed Escape. */
  input(o: InputOptions): Promise<string | undefined> {
    const q = vscode.window.createInputBox();
    q.title = o.title;
    q.prompt = o.prompt;
    q.value = o.value ?? '';
    const check = (v: string) => o.validateInput?.(v);
    q.validationMessage = check(q.value);
    return this.ask<string>(q, (answer) => [
      q.onDidChangeValue((v) => { q.validationMessage = check(v); }),
      q.onDidAccept(() => {
        q.validationMessage = check(q.value);
        if (q.validationMessage === undefined) answer(q.value);
      }),
    ]);
  }

  /** Closes the question showing: before a file dialog (which is not a question of the flow), and at the end. */
  close(): void {
    const q = this.shown;
    this.shown = undefined;
    q?.dispose();
  }

  private ask<T>(q: vscode.QuickInput, listen: (answer: (v: T) => void) => vscode.Disposable[]): Promise<T | undefined> {
    if (this.cancelled) {
      q.dispose();
      return Promise.resolve(undefined);
    }
    q.ignoreFocusOut = true;
    return new Promise<T | undefined>((resolve) => {
      let answered = false;
      const listeners = listen((v) => {
        if (answered) return;
        answered = true;
        q.busy = true; // until the next question replaces it
        resolve(v);
      });
      listeners.push(q.onDidHide(() => {
        listeners.forEach((l) => l.dispose());
        // Hidden while still the flow's question: the user closed it (a replaced or closed one is no longer shown).
        if (this.shown === q) {
          this.shown = undefined;
          this.cancelled = true;
        }
        q.dispose();
        if (!answered) resolve(undefined);
      }));
      const before = this.shown;
      this.shown = q;
      q.show();
      before?.dispose(); // after the new one shows, so the widget never closes in between
    });
  }
}

/** Runs `ask` with a flow of questions and closes its last question when `ask` is done, however it ends. */
export async function askInTurn<R>(ask: (flow: QuickFlow) => Promise<R>): Promise<R> {
  const flow = new QuickFlow();
  try {
    return await ask(flow);
  } finally {
    flow.close();
  }
}
