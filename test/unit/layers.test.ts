// Imports flow downward: every relative import in src/ and webview/ must be an edge that LAYERS permits. The table
// is the only statement of the layering; docs/architecture.md shows it, and the last test checks that it shows this
// table and no other.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

const ROOT = path.resolve(__dirname, '..', '..');

/**
 * Each layer and the layers it may import, lowest first. A layer is a folder of src/ or of webview/;
 * 'webview/*' stands for every panel folder of webview/ other than webview/shared.
 */
export const LAYERS: Record<string, string[]> = {
  'src/wire': [],
  'src/runtime': [],
  'src/jit': ['src/wire'],
  'src/onnx': ['src/jit'],
  'src/io': ['src/jit', 'src/wire'],
  'src/train': ['src/wire', 'src/runtime', 'src/jit', 'src/onnx', 'src/io'],
  'src/sampling': ['src/wire', 'src/runtime', 'src/jit', 'src/onnx', 'src/io'],
  'src/analysis': ['src/wire', 'src/jit', 'src/io', 'src/train', 'src/sampling'],
  'src/quality': ['src/wire', 'src/jit', 'src/io', 'src/train', 'src/sampling', 'src/analysis'],
  'src/run': ['src/wire', 'src/runtime', 'src/jit', 'src/onnx', 'src/io', 'src/train', 'src/sampling', 'src/quality'],
  'src/toy': ['src/runtime', 'src/jit', 'src/io', 'src/train'],
  'src/tasks': ['src/wire', 'src/runtime', 'src/jit', 'src/onnx', 'src/io', 'src/train', 'src/sampling', 'src/analysis', 'src/quality', 'src/run'],
  'src/engine': ['src/wire', 'src/runtime', 'src/jit', 'src/onnx', 'src/io', 'src/train', 'src/sampling', 'src/analysis', 'src/quality', 'src/run', 'src/toy', 'src/tasks'],
  'src/cli': ['src/wire', 'src/runtime', 'src/jit', 'src/onnx', 'src/io', 'src/train', 'src/sampling', 'src/analysis', 'src/quality', 'src/run', 'src/toy', 'src/tasks'],
  'src/extension': ['src/wire', 'src/runtime', 'src/jit', 'src/io', 'src/train', 'src/sampling', 'src/analysis', 'src/quality', 'src/run', 'src/tasks', 'src/engine'],
  'webview/shared': ['src/wire'],
  'webview/*': ['src/wire', 'webview/shared'],
};

/** The layer a file belongs to: its folder directly under src/ or webview/. */
export function layerOf(file: string): string | undefined {
  const [top, folder, ...rest] = file.split('/');
  if ((top !== 'src' && top !== 'webview') || rest.length === 0) return undefined;
  if (top === 'webview' && folder !== 'shared') return 'webview/*';
  return `${top}/${folder}`;
}

export interface ImportEdge {
  file: string;
  specifier: string;
  /** The imported file's path from the repository root, or the package name for a bare specifier. */
  target: string;
}

/** Every import, export-from, require() and import() of a TypeScript file (as the compiler reads them). */
export function importsOf(file: string, text: string): ImportEdge[] {
  return ts.preProcessFile(text, true, true).importedFiles.map(({ fileName: specifier }) => ({
    file,
    specifier,
    target: specifier.startsWith('.') ? path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier)) : specifier,
  }));
}

/** One line per edge the table does not permit. */
export function forbiddenEdges(edges: ImportEdge[], layers: Record<string, string[]> = LAYERS): string[] {
  const problems: string[] = [];
  for (const e of edges) {
    const from = layerOf(e.file);
    if (!from || !layers[from]) {
      problems.push(`${e.file} is in no layer of the table: add its folder to LAYERS in test/unit/layers.test.ts.`);
      continue;
    }
    if (!e.specifier.startsWith('.')) {
      if (from === 'src/wire') problems.push(`${e.file} imports the package "${e.specifier}": src/wire imports nothing, so that every side can include it.`);
      continue;
    }
    const to = layerOf(e.target);
    if (to === from) continue;
    if (!to || !layers[from].includes(to)) problems.push(`${e.file} imports ${e.specifier} (${to ?? e.target}), which ${from} may not import.`);
  }
  return problems;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = `${dir}/${entry.name}`;
    if (entry.isDirectory()) out.push(...sourceFiles(rel));
    else if (/\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

const allEdges = (): ImportEdge[] =>
  ['src', 'webview'].flatMap(sourceFiles).flatMap((f) => importsOf(f, fs.readFileSync(path.join(ROOT, f), 'utf8')));

describe('layers: imports flow downward', () => {
  it('every import in src/ and webview/ is an edge the table permits', () => {
    const edges = allEdges();
    assert.ok(edges.length > 500, `only ${edges.length} imports were found: the scan is broken`);
    assert.deepEqual(forbiddenEdges(edges), []);
  });

  it('every layer of the table exists and the table has no cycle', () => {
    for (const layer of Object.keys(LAYERS).filter((l) => !l.includes('*'))) assert.ok(fs.existsSync(path.join(ROOT, layer)), `${layer} does not exist`);
    const visiting = new Set<string>();
    const done = new Set<string>();
    const visit = (l: string, trail: string[]) => {
      assert.ok(!visiting.has(l), `the table has a cycle: ${[...trail, l].join(' -> ')}`);
      if (done.has(l)) return;
      visiting.add(l);
      for (const below of LAYERS[l] ?? assert.fail(`${l} is allowed but is not a layer of the table`)) visit(below, [...trail, l]);
      visiting.delete(l);
      done.add(l);
    };
    for (const l of Object.keys(LAYERS)) visit(l, []);
  });

  it('catches an upward import, a package in src/wire and a file outside the table', () => {
    const edges = [
      ...importsOf('src/io/checkpoint.ts', "import type { Trainer } from '../train/trainer';"),
      ...importsOf('src/jit/model.ts', "const x = require('../engine/rpc');"),
      ...importsOf('webview/shared/plots.ts', "export { theme } from '../dashboard/theme';"),
      ...importsOf('src/wire/tensorPack.ts', "import * as fs from 'fs';"),
      ...importsOf('src/newlayer/a.ts', "import { b } from '../jit/config';"),
      ...importsOf('src/io/png.ts', "import { encode } from './pngEncode';\nimport * as fs from 'fs';"),
    ];
    assert.deepEqual(forbiddenEdges(edges).map((p) => p.split(' ')[0]), [
      'src/io/checkpoint.ts', 'src/jit/model.ts', 'webview/shared/plots.ts', 'src/wire/tensorPack.ts', 'src/newlayer/a.ts',
    ]);
  });

  it('docs/architecture.md shows this table', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs', 'architecture.md'), 'utf8');
    const section = doc.split(/^## /m).find((s) => s.startsWith('Layers')) ?? assert.fail('docs/architecture.md has no "## Layers" section');
    const rows = [...section.matchAll(/^\| `([^`]+)` \| ([^|]*) \|/gm)].map((m) => [m[1], [...m[2].matchAll(/`([^`]+)`/g)].map((x) => x[1])] as const);
    assert.deepEqual(Object.fromEntries(rows), LAYERS);
  });
});
