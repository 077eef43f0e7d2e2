// Numeric columns (float64) in one ArrayBuffer plus an offset table: how metric series cross postMessage
// without JSON arrays. Pure TypeScript, used by the extension host (to pack) and the webviews (to read).

export interface ColumnEntry {
  name: string;
  /** Offset in float64 elements. */
  offset: number;
  length: number;
}

export interface ColumnPack {
  buffer: ArrayBuffer;
  columns: ColumnEntry[];
}

export function packColumns(cols: Record<string, ArrayLike<number>>): ColumnPack {
  const names = Object.keys(cols);
  const total = names.reduce((n, k) => n + cols[k].length, 0);
  const data = new Float64Array(total);
  const columns: ColumnEntry[] = [];
  let offset = 0;
  for (const name of names) {
    const c = cols[name];
    for (let i = 0; i < c.length; i++) data[offset + i] = c[i];
    columns.push({ name, offset, length: c.length });
    offset += c.length;
  }
  return { buffer: data.buffer, columns };
}

/** Views (not copies) of every column. */
export function unpackColumns(pack: ColumnPack): Record<string, Float64Array> {
  const out: Record<string, Float64Array> = {};
  const capacity = pack.buffer.byteLength / 8;
  for (const c of pack.columns) {
    if (c.offset < 0 || c.offset + c.length > capacity) throw new Error(`Column "${c.name}" runs past the end of its buffer.`);
    out[c.name] = new Float64Array(pack.buffer, c.offset * 8, c.length);
  }
  return out;
}
