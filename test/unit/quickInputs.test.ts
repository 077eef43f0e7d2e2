// Every question of the extension goes through src/extension/quickFlow.ts, which keeps a quick input in place when
// the focus moves (ignoreFocusOut) and open from one question of a command to the next (so the keyboard does not
// go back to a walkthrough step, say, between two questions). showQuickPick/showInputBox do neither.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';

const SRC = path.join(__dirname, '..', '..', 'src');
const FLOW = path.join('extension', 'quickFlow.ts');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []);
}

/** Where `re` matches in the sources, as file:line. */
function matches(re: RegExp, files: string[]): string[] {
  return files.flatMap((file) => [...fs.readFileSync(file, 'utf8').matchAll(re)].map((m) =>
    `${path.relative(SRC, file)}:${fs.readFileSync(file, 'utf8').slice(0, m.index).split('\n').length}`));
}

describe('quick inputs', () => {
  const files = sources(SRC);

  it('every question is asked through a QuickFlow: no showQuickPick/showInputBox, no quick input built elsewhere', () => {
    assert.ok(matches(/\bflow\.(pick|input)\(/g, files).length >= 15, 'the scan found too few questions; it is broken');
    assert.deepStrictEqual(matches(/\.(showQuickPick|showInputBox)\(/g, files), [], 'these close on Enter and give the keyboard back between questions: use QuickFlow');
    const built = matches(/\.(createQuickPick|createInputBox)\b/g, files).filter((at) => !at.startsWith(`${FLOW}:`));
    assert.deepStrictEqual(built, [], 'quick inputs built outside quickFlow.ts');
  });

  it('QuickFlow builds two kinds of quick input and sets ignoreFocusOut on every one it shows', () => {
    const text = fs.readFileSync(path.join(SRC, FLOW), 'utf8');
    assert.strictEqual(matches(/\.(createQuickPick|createInputBox)\b/g, [path.join(SRC, FLOW)]).length, 2);
    // The one place that shows a question sets it first.
    const ask = text.slice(text.indexOf('private ask<T>'));
    assert.ok(ask.indexOf('q.ignoreFocusOut = true') >= 0 && ask.indexOf('q.ignoreFocusOut = true') < ask.indexOf('q.show()'), 'ask() shows a quick input without ignoreFocusOut');
    assert.strictEqual(text.split('.show()').length - 1, 1, 'a quick input is shown outside ask()');
  });
});
