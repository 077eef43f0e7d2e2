// Every quick pick and input box of the extension keeps its place when the focus moves: without ignoreFocusOut a
// webview that takes the focus while it loads closes the quick input silently and its command never runs.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';

const SRC = path.join(__dirname, '..', '..', 'src');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []);
}

/** The text of each `window.showQuickPick(...)` / `showInputBox(...)` call (up to its closing parenthesis). */
function quickInputCalls(text: string): { line: number; call: string }[] {
  const out: { line: number; call: string }[] = [];
  for (const m of text.matchAll(/\.(showQuickPick|showInputBox|createQuickPick|createInputBox)\(/g)) {
    let depth = 0;
    let end = m.index! + m[0].length - 1;
    for (; end < text.length; end++) {
      if (text[end] === '(') depth++;
      else if (text[end] === ')' && --depth === 0) break;
    }
    out.push({ line: text.slice(0, m.index).split('\n').length, call: text.slice(m.index, end + 1) });
  }
  return out;
}

describe('quick inputs', () => {
  it('every showQuickPick and showInputBox in src/ passes ignoreFocusOut: true, and none is built by hand', () => {
    const calls = sources(SRC).flatMap((file) => quickInputCalls(fs.readFileSync(file, 'utf8')).map((c) => ({ ...c, file: path.relative(SRC, file) })));
    assert.ok(calls.length >= 10, `found ${calls.length} quick inputs; the scan is broken`);
    const created = calls.filter((c) => /^\.create/.test(c.call));
    assert.deepStrictEqual(created.map((c) => `${c.file}:${c.line}`), [], 'createQuickPick/createInputBox: set ignoreFocusOut on it and extend this test');
    const lost = calls.filter((c) => !/\bignoreFocusOut: true\b/.test(c.call));
    assert.deepStrictEqual(lost.map((c) => `${c.file}:${c.line}`), [], 'these quick inputs close when a webview takes the focus');
  });
});
