// The Get Started walkthrough and the rest of package.json's contributions point only at things that exist:
// contributed commands (or a view's focus command), media files, and the context keys the extension sets when a
// step's action has really happened (test/e2e/walkthrough.test.ts watches them complete in a real VS Code).
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { WALKTHROUGH_ID, WALKTHROUGH_KEYS, type WalkthroughStep } from '../../src/extension/walkthrough';

const ROOT = path.join(__dirname, '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const contributes = pkg.contributes;
const commandIds = new Set<string>(contributes.commands.map((c: { command: string }) => c.command));
const viewIds: string[] = Object.values(contributes.views as Record<string, { id: string }[]>).flat().map((v) => v.id);
/** VS Code's own commands that package.json links to. */
const BUILT_IN = new Set(['workbench.trust.manage']);

function knownCommand(id: string): boolean {
  return commandIds.has(id) || BUILT_IN.has(id) || viewIds.some((v) => id === `${v}.focus`);
}

/** The ids of every `command:` link in a markdown text. */
function commandLinks(text: string): string[] {
  return [...text.matchAll(/\(command:([\w.-]+)/g)].map((m) => m[1]);
}

describe('package.json contributions', function () {
  const walkthrough = contributes.walkthroughs.find((w: { id: string }) => w.id === WALKTHROUGH_ID);
  const steps: { id: string; title: string; description: string; media: Record<string, string>; completionEvents: string[] }[] = walkthrough.steps;

  it('the walkthrough trains, watches the dashboard, samples, opens a trajectory and inspects a checkpoint, in that order', () => {
    assert.deepStrictEqual(steps.map((s) => s.id), ['train', 'dashboard', 'sample', 'trajectory', 'inspect']);
  });

  it('each step is completed by a context key the extension sets when the thing happened, each key by one step', () => {
    const keys = Object.values(WALKTHROUGH_KEYS) as string[];
    const used = steps.flatMap((s) => s.completionEvents);
    for (const e of used) {
      const key = /^onContext:(.+)$/.exec(e)?.[1];
      assert.ok(key && keys.includes(key), `${e}: not one of the walkthrough's context keys (${keys.join(', ')})`);
    }
    assert.deepStrictEqual([...used].sort(), keys.map((k) => `onContext:${k}`).sort());
  });

  it('the extension sets every walkthrough key somewhere in its code', () => {
    const dir = path.join(ROOT, 'src', 'extension');
    const code = fs.readdirSync(dir).filter((f) => f.endsWith('.ts') && f !== 'walkthrough.ts').map((f) => fs.readFileSync(path.join(dir, f), 'utf8')).join('\n');
    for (const step of Object.keys(WALKTHROUGH_KEYS) as WalkthroughStep[]) {
      assert.ok(code.includes(`completeWalkthroughStep(vscode.commands, '${step}')`), `nothing completes the step "${step}"`);
    }
  });

  it('the walkthrough\'s media files exist and are packaged, and its links run contributed commands', () => {
    const ignore = fs.readFileSync(path.join(ROOT, '.vscodeignore'), 'utf8');
    assert.match(ignore, /^!media\/walkthrough\/\*\*$/m, 'the VSIX would leave out media/walkthrough');
    for (const s of steps) {
      const files = Object.entries(s.media).filter(([k]) => k !== 'altText').map(([, f]) => f);
      assert.ok(files.length > 0, `${s.id}: no media`);
      for (const f of files) {
        assert.ok(fs.existsSync(path.join(ROOT, f)), `${s.id}: ${f} does not exist`);
        for (const id of commandLinks(fs.readFileSync(path.join(ROOT, f), 'utf8'))) assert.ok(knownCommand(id), `${f} links to the unknown command ${id}`);
      }
      const links = commandLinks(s.description);
      assert.strictEqual(links.length, 1, `${s.id}: one button per step`);
      for (const id of links) assert.ok(knownCommand(id), `${s.id} links to the unknown command ${id}`);
    }
  });

  it('menus, the welcome views and keybindings name only contributed commands', () => {
    for (const [menu, items] of Object.entries(contributes.menus as Record<string, { command: string }[]>)) {
      for (const item of items) assert.ok(commandIds.has(item.command), `menu ${menu} names the unknown command ${item.command}`);
    }
    for (const w of contributes.viewsWelcome) for (const id of commandLinks(w.contents)) assert.ok(knownCommand(id), `the welcome view of ${w.view} links to the unknown command ${id}`);
    for (const k of contributes.keybindings ?? []) assert.ok(commandIds.has(k.command), `a keybinding names the unknown command ${k.command}`);
  });
});
