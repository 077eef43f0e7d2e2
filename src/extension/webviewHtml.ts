// The HTML shell of each webview: a Content-Security-Policy that allows only this page's bundled script (by a
// fresh nonce) and stylesheet, and images from the allowed local folders; the page builds its DOM in script.
import { randomBytes } from 'crypto';
import * as vscode from 'vscode';

export type WebviewName = 'dashboard' | 'gallery' | 'trajectory' | 'latent' | 'grid' | 'inspector' | 'lab';

/** Escapes text for an HTML attribute or text node. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** The folder the webview bundles are built into (dist/webview). */
export function webviewDist(extensionUri: vscode.Uri): vscode.Uri {
  return vscode.Uri.joinPath(extensionUri, 'dist', 'webview');
}

export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, name: WebviewName, title: string): string {
  const nonce = randomBytes(16).toString('base64');
  const dist = webviewDist(extensionUri);
  const script = webview.asWebviewUri(vscode.Uri.joinPath(dist, `${name}.js`)).toString();
  const style = webview.asWebviewUri(vscode.Uri.joinPath(dist, `${name}.css`)).toString();
  const csp = [
    "default-src 'none'",
    `img-src ${webview.cspSource} blob:`,
    `style-src ${webview.cspSource}`,
    `font-src ${webview.cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${escapeHtml(style)}">
<title>${escapeHtml(title)}</title>
</head>
<body>
<main id="app" class="jit-${name}"></main>
<script nonce="${escapeHtml(nonce)}" src="${escapeHtml(script)}"></script>
</body>
</html>`;
}
