// The webview side of VS Code's messaging and state, typed per view.

interface VsCodeApi<S> {
  postMessage(message: unknown): void;
  getState(): S | undefined;
  setState(state: S): void;
}

declare function acquireVsCodeApi<S>(): VsCodeApi<S>;

export interface ViewApi<S, Out> {
  post(message: Out): void;
  getState(): S | undefined;
  setState(state: S): void;
}

/** acquireVsCodeApi may be called once per page; this wraps the one instance with the view's types. */
export function viewApi<S, Out>(): ViewApi<S, Out> {
  const api = acquireVsCodeApi<S>();
  return {
    post: (m) => api.postMessage(m),
    getState: () => api.getState(),
    setState: (s) => api.setState(s),
  };
}
