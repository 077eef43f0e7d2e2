// Tensors as bytes: several tensors in one ArrayBuffer with an offset table, the form in which tensors cross from
// the engine process to the extension host and on to the webviews (postMessage keeps the buffer binary), never as
// JSON arrays. Both sides use this one module: it imports nothing and uses neither Node nor the DOM.


export type PackDType = 'float32' | 'float64' | 'int32' | 'uint8';
type TypedArrayOf<D extends PackDType> = D extends 'float32' ? Float32Array : D extends 'float64' ? Float64Array : D extends 'int32' ? Int32Array : Uint8Array;
export type PackArray = Float32Array | Float64Array | Int32Array | Uint8Array;

export interface TensorEntry {
  name: string;
  dtype: PackDType;
  shape: number[];
  byteOffset: number;
}

/** Several tensors in one buffer; `entries` is the offset table. */
export interface TensorPack {
  buffer: ArrayBuffer;
  entries: TensorEntry[];
}

const BYTES: Record<PackDType, number> = { float32: 4, float64: 8, int32: 4, uint8: 1 };
const CTORS = { float32: Float32Array, float64: Float64Array, int32: Int32Array, uint8: Uint8Array };

function dtypeOf(a: PackArray): PackDType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof Int32Array) return 'int32';
  return 'uint8';
}

const count = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Copies the arrays into one buffer, each at an 8-byte aligned offset so typed views need no copy. */
export function packTensors(items: { name: string; shape: number[]; data: PackArray }[]): TensorPack {
  const entries: TensorEntry[] = [];
  let size = 0;
  for (const it of items) {
    if (count(it.shape) !== it.data.length) throw new Error(`Tensor "${it.name}" has ${it.data.length} values but shape [${it.shape}] needs ${count(it.shape)}.`);
    size = Math.ceil(size / 8) * 8;
    entries.push({ name: it.name, dtype: dtypeOf(it.data), shape: [...it.shape], byteOffset: size });
    size += it.data.byteLength;
  }
  const buffer = new ArrayBuffer(size);
  items.forEach((it, i) => new Uint8Array(buffer, entries[i].byteOffset, it.data.byteLength).set(new Uint8Array(it.data.buffer, it.data.byteOffset, it.data.byteLength)));
  return { buffer, entries };
}

/** A view (not a copy) of one tensor of a pack. */
export function unpackTensor<D extends PackDType>(pack: TensorPack, name: string, dtype: D): { shape: number[]; data: TypedArrayOf<D> } {
  const e = pack.entries.find((x) => x.name === name);
  if (!e) throw new Error(`The tensor pack has no "${name}" (it holds ${pack.entries.map((x) => x.name).join(', ') || 'nothing'}).`);
  if (e.dtype !== dtype) throw new Error(`Tensor "${name}" is ${e.dtype}, not ${dtype}.`);
  const n = count(e.shape);
  if (e.byteOffset + n * BYTES[dtype] > pack.buffer.byteLength) throw new Error(`Tensor "${name}" runs past the end of its pack.`);
  return { shape: e.shape, data: new CTORS[dtype](pack.buffer, e.byteOffset, n) as TypedArrayOf<D> };
}

/** The named tensor of a pack as numbers (a view of the buffer), or undefined when the pack does not hold it. */
export function packView(pack: TensorPack, name: string): { shape: number[]; data: Float32Array | Float64Array | Int32Array | Uint8Array } | undefined {
  const e = pack.entries.find((x) => x.name === name);
  if (!e) return undefined;
  const n = count(e.shape);
  const Ctor = CTORS[e.dtype];
  if (!Ctor || e.byteOffset + n * Ctor.BYTES_PER_ELEMENT > pack.buffer.byteLength) return undefined;
  return { shape: e.shape, data: new Ctor(pack.buffer, e.byteOffset, n) };
}
