// Read-only access to checkpoint files: one interface over safetensors and PyTorch .pth files that lists tensors
// from the header alone and reads each tensor's bytes only when asked, the module tree of their names, and names
// that mean the same tensor in either format.
import * as fs from 'fs';
import * as path from 'path';
import { PthArchive, isZipFile, splitTree } from './pth';
import type { TorchTensor } from './pickle';
import { DTYPE_BYTES, DType, readHeader, readTensorBytes, toFloat32 } from './safetensors';

export type SourceFormat = 'safetensors' | 'pytorch';

export interface TensorEntry {
  name: string;
  dtype: DType;
  shape: number[];
  numel: number;
  bytes: number;
}

/** A checkpoint opened for reading: the tensor list is known up front, the data is read per tensor. */
export interface TensorSource {
  readonly file: string;
  readonly format: SourceFormat;
  readonly metadata: Record<string, unknown>;
  readonly tensors: TensorEntry[];
  read(name: string): Promise<Float32Array>;
  close(): void;
}

const numelOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

function entryOf(name: string, dtype: DType, shape: number[]): TensorEntry {
  const numel = numelOf(shape);
  return { name, dtype, shape, numel, bytes: numel * DTYPE_BYTES[dtype] };
}

const PYTORCH_EXTENSIONS = new Set(['.pth', '.pt', '.bin', '.ckpt', '.tar']);

/** Opens a .safetensors or PyTorch checkpoint; the format is told by its first bytes, not its name. */
export async function openTensorSource(file: string): Promise<TensorSource> {
  if (!fs.existsSync(file)) throw new Error(`${file} does not exist.`);
  if (!fs.statSync(file).isFile()) throw new Error(`${file} is not a file.`);
  if (isZipFile(file) || PYTORCH_EXTENSIONS.has(path.extname(file).toLowerCase())) return openPth(file);
  return openSafetensors(file);
}

function openSafetensors(file: string): TensorSource {
  const header = readHeader(file);
  const byName = new Map(header.tensors.map((t) => [t.name, t]));
  // List in data order, which is the order the writer chose (state-dict order for this project's files).
  const sorted = [...header.tensors].sort((a, b) => a.begin - b.begin);
  return {
    file,
    format: 'safetensors',
    metadata: { ...header.metadata },
    tensors: sorted.map((t) => entryOf(t.name, t.dtype, t.shape)),
    async read(name) {
      const info = byName.get(name);
      if (!info) throw new Error(`${path.basename(file)} has no tensor ${name}.`);
      return toFloat32(readTensorBytes(file, header, info), info.dtype);
    },
    close() {},
  };
}

async function openPth(file: string): Promise<TensorSource> {
  const archive = await PthArchive.open(file);
  const { tensors, metadata } = splitTree(archive.root);
  const byName = new Map<string, TorchTensor>(tensors.map((t) => [t.name, t.tensor]));
  return {
    file,
    format: 'pytorch',
    metadata: { ...metadata, layout: { ...archive.layout } },
    tensors: tensors.map((t) => entryOf(t.name, t.tensor.dtype, t.tensor.shape)),
    async read(name) {
      const t = byName.get(name);
      if (!t) throw new Error(`${path.basename(file)} has no tensor ${name}.`);
      return archive.readTensor(t);
    },
    close() {
      archive.close();
    },
  };
}


export interface ModuleNode {
  /** Last path component ("" for the root). */
  name: string;
  /** Dotted path of the module ("" for the root). */
  path: string;
  /** Elements in this module and everything below it. */
  params: number;
  bytes: number;
  /** Tensors directly in this module. */
  tensors: TensorEntry[];
  children: ModuleNode[];
}

/** Groups tensors by module path (net.blocks.0.attn.qkv.weight lies in net > blocks > 0 > attn > qkv), with totals. */
export function moduleTree(entries: TensorEntry[]): ModuleNode {
  const root: ModuleNode = { name: '', path: '', params: 0, bytes: 0, tensors: [], children: [] };
  for (const t of entries) {
    const parts = t.name.split('.');
    let node = root;
    node.params += t.numel;
    node.bytes += t.bytes;
    for (const part of parts.slice(0, -1)) {
      let child = node.children.find((c) => c.name === part);
      if (!child) {
        child = { name: part, path: node.path ? `${node.path}.${part}` : part, params: 0, bytes: 0, tensors: [], children: [] };
        node.children.push(child);
      }
      node = child;
      node.params += t.numel;
      node.bytes += t.bytes;
    }
    node.tensors.push(t);
  }
  return root;
}


/**
 * A name that means the same tensor in either format: an official .pth holds the online weights under `model.`
 * and the EMA copies under `model_ema1.` / `model_ema2.`, this project's files under no prefix / `ema1.` / `ema2.`.
 */
export function canonicalName(format: SourceFormat, name: string): string {
  if (format !== 'pytorch') return name;
  const m = /^model(_ema[12])?\.(net\..*)$/.exec(name);
  if (!m) return name;
  return m[1] ? `${m[1].slice(1)}.${m[2]}` : m[2];
}

