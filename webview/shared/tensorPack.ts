// The webview side of the engine's binary tensor packs (one ArrayBuffer plus an offset table): typed views, no copies.

export interface PackEntry {
  name: string;
  dtype: 'float32' | 'float64' | 'int32' | 'uint8';
  shape: number[];
  byteOffset: number;
}

export interface Pack {
  buffer: ArrayBuffer;
  entries: PackEntry[];
}

const CTORS = { float32: Float32Array, float64: Float64Array, int32: Int32Array, uint8: Uint8Array };

/** The named tensor of a pack as numbers (a view of the buffer), or undefined when the pack does not hold it. */
export function packView(pack: Pack, name: string): { shape: number[]; data: Float32Array | Float64Array | Int32Array | Uint8Array } | undefined {
  const e = pack.entries.find((x) => x.name === name);
  if (!e) return undefined;
  const n = e.shape.reduce((a, b) => a * b, 1);
  const Ctor = CTORS[e.dtype];
  if (!Ctor || e.byteOffset + n * Ctor.BYTES_PER_ELEMENT > pack.buffer.byteLength) return undefined;
  return { shape: e.shape, data: new Ctor(pack.buffer, e.byteOffset, n) };
}
