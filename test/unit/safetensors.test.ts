// The safetensors reader enforces each rule of the format with one clear sentence; corrupt or hostile files never
// crash it, hang it or make it allocate more than the file's size.
import * as assert from 'assert';
import * as fc from 'fast-check';
import * as fs from 'fs';
import * as path from 'path';
import { MAX_HEADER_BYTES, SafetensorsError, encodeSafetensors, readHeader, readSafetensors, readTensorBytes } from '../../src/io/safetensors';
import { tempDir } from './helpers';

const dir = tempDir('jit-safetensors-');
let counter = 0;

/** Writes a file from a header (object or raw text), data bytes and optionally a forged header length. */
function fileWith(header: object | string, data: Buffer = Buffer.alloc(0), length?: bigint): string {
  const text = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(length ?? BigInt(text.length));
  const file = path.join(dir, `case-${counter++}.safetensors`);
  fs.writeFileSync(file, Buffer.concat([len, text, data]));
  return file;
}

/** Asserts that reading fails with a one-line SafetensorsError matching `pattern`. */
function rejects(file: string, pattern: RegExp): void {
  assert.throws(() => readSafetensors(file), (e: unknown) => {
    assert.ok(e instanceof SafetensorsError, `expected a SafetensorsError, got ${String(e)}`);
    assert.ok(!/[\r\n]/.test(e.message), `message is not one line: ${JSON.stringify(e.message)}`);
    assert.match(e.message, pattern);
    return true;
  });
}

const f32 = (name: string, shape: number[], begin: number) => ({ [name]: { dtype: 'F32', shape, data_offsets: [begin, begin + 4 * shape.reduce((a, b) => a * b, 1)] } });

describe('safetensors reader', () => {
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads what the writer wrote, metadata included, and reads single tensors by byte range', () => {
    const a = Float32Array.from([1, -2, 3.5, 0, 1e-20, -7]);
    const b = Float32Array.from([42]);
    const file = path.join(dir, 'valid.safetensors');
    fs.writeFileSync(file, encodeSafetensors([{ name: 'a', shape: [2, 3], data: a }, { name: 'b', shape: [], data: b }], { note: 'hi' }));
    const r = readSafetensors(file);
    assert.deepStrictEqual(r.metadata, { note: 'hi' });
    assert.deepStrictEqual([...r.tensors.get('a')!.data], [...a]);
    assert.deepStrictEqual(r.tensors.get('a')!.shape, [2, 3]);
    assert.deepStrictEqual([...r.tensors.get('b')!.data], [42]);
    const h = readHeader(file);
    const raw = readTensorBytes(file, h, h.tensors.find((t) => t.name === 'b')!);
    assert.strictEqual(raw.readFloatLE(0), 42);
    assert.strictEqual(readSafetensors(fileWith('{}')).tensors.size, 0);
  });

  it('rejects a file too short to hold the header length', () => {
    const file = path.join(dir, 'short.safetensors');
    fs.writeFileSync(file, Buffer.from([1, 0, 0]));
    rejects(file, /3 bytes, fewer than the 8-byte header length/);
  });

  it('rejects a header length above the limit', () => {
    rejects(fileWith('{}', Buffer.alloc(0), BigInt(MAX_HEADER_BYTES) + 1n), /exceeds the 100000000-byte limit/);
    rejects(fileWith('{}', Buffer.alloc(0), 0xffffffffffffffffn), /exceeds the 100000000-byte limit/);
  });

  it('rejects a header length that runs past the end of the file', () => {
    rejects(fileWith('{}', Buffer.alloc(0), 1000n), /header length 1000 runs past the end of the 10-byte file/);
  });

  it('rejects a header that is not UTF-8', () => {
    const text = Buffer.concat([Buffer.from('{"a'), Buffer.from([0xc3, 0x28]), Buffer.from('":1}')]);
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(text.length));
    const file = path.join(dir, 'latin.safetensors');
    fs.writeFileSync(file, Buffer.concat([len, text]));
    rejects(file, /the header is not valid UTF-8/);
  });

  it('rejects a header that is not a JSON object', () => {
    rejects(fileWith('{"a": '), /the header is not valid JSON/);
    rejects(fileWith('[1, 2]'), /does not start with a JSON object/);
    rejects(fileWith(' {}'), /does not start with a JSON object/);
    rejects(fileWith('{"a": 1}'), /entry "a" is not an object/);
  });

  it('rejects duplicate keys anywhere in the header', () => {
    const t = '{"dtype":"F32","shape":[1],"data_offsets":[0,4]}';
    rejects(fileWith(`{"x":${t},"x":${t}}`, Buffer.alloc(4)), /the key "x" appears twice/);
    rejects(fileWith('{"x":{"dtype":"F32","dtype":"F64","shape":[1],"data_offsets":[0,4]}}', Buffer.alloc(4)), /the key "dtype" appears twice/);
    rejects(fileWith(`{"__metadata__":{"k":"1","k":"2"},"x":${t}}`, Buffer.alloc(4)), /the key "k" appears twice/);
  });

  it('rejects dtypes outside the allowlist', () => {
    rejects(fileWith({ x: { dtype: 'F8_E4M3', shape: [4], data_offsets: [0, 4] } }, Buffer.alloc(4)), /tensor "x" has dtype "F8_E4M3", which is not one of F64, F32/);
    rejects(fileWith({ x: { dtype: 'toString', shape: [1], data_offsets: [0, 4] } }, Buffer.alloc(4)), /has dtype "toString"/);
    rejects(fileWith({ x: { dtype: 7, shape: [1], data_offsets: [0, 4] } }, Buffer.alloc(4)), /has dtype "7"/);
  });

  it('rejects dimensions that are not safe non-negative integers', () => {
    for (const bad of ['-1', '1.5', '9007199254740993', '"4"', '1e400']) {
      rejects(fileWith(`{"x":{"dtype":"U8","shape":[${bad}],"data_offsets":[0,4]}}`, Buffer.alloc(4)), /tensor "x" has an invalid dimension/);
    }
    rejects(fileWith({ x: { dtype: 'U8', shape: [2 ** 30, 2 ** 30, 2 ** 30], data_offsets: [0, 4] } }, Buffer.alloc(4)), /more elements than a safe integer/);
  });

  it('rejects offsets that are not safe non-negative integers', () => {
    for (const bad of ['-4', '4.5', '18446744073709551616', 'null']) {
      rejects(fileWith(`{"x":{"dtype":"U8","shape":[4],"data_offsets":[0,${bad}]}}`, Buffer.alloc(4)), /tensor "x" has an invalid offset/);
    }
    rejects(fileWith({ x: { dtype: 'U8', shape: [4], data_offsets: [0] } }, Buffer.alloc(4)), /does not have exactly two data_offsets/);
    rejects(fileWith({ x: { dtype: 'U8', shape: [0], data_offsets: [4, 0] } }, Buffer.alloc(4)), /ends before it begins/);
  });

  it('rejects offsets that do not tile the data from 0 without gap or overlap', () => {
    rejects(fileWith(f32('x', [1], 4), Buffer.alloc(8)), /gap of 4 bytes before tensor "x"/);
    rejects(fileWith({ ...f32('x', [2], 0), ...f32('y', [2], 4) }, Buffer.alloc(12)), /tensor "y" overlaps another tensor/);
    rejects(fileWith({ ...f32('x', [1], 0), ...f32('y', [1], 8) }, Buffer.alloc(12)), /gap of 4 bytes before tensor "y"/);
  });

  it('rejects a byte size that differs from shape x dtype size', () => {
    rejects(fileWith({ x: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 12] } }, Buffer.alloc(12)), /tensor "x" has 12 bytes but shape \[2, 2\] of F32 needs 16/);
  });

  it('rejects bytes after the last tensor and data missing at the end', () => {
    rejects(fileWith(f32('x', [2], 0), Buffer.alloc(9)), /1 unexpected bytes follow the last tensor/);
    rejects(fileWith(f32('x', [2], 0), Buffer.alloc(7)), /the tensors need 8 bytes but the file has 7 after the header/);
  });

  it('rejects metadata that is not a map of strings', () => {
    rejects(fileWith({ __metadata__: { step: 3 } }), /metadata "step" is not a string/);
    rejects(fileWith({ __metadata__: ['a'] }), /__metadata__ is not an object/);
  });

  it('quotes hostile names on one line and shortened', () => {
    rejects(fileWith({ ['a\nb'.repeat(100)]: { dtype: 'X', shape: [], data_offsets: [0, 0] } }), /tensor "a\\nba\\nb.*\.\.\." has dtype/);
  });

  it('answers every truncation or byte mutation of a valid file with a result or one SafetensorsError line, within the file size', () => {
    const valid = encodeSafetensors(
      [
        { name: 'net.w', shape: [3, 4], data: Float32Array.from({ length: 12 }, (_, i) => i - 5) },
        { name: 'net.b', shape: [4], data: Float32Array.from([1, 2, 3, 4]) },
        { name: 'ema1.net.w', shape: [2, 1, 2], data: Float32Array.from([0.5, 0.25, -1, 8]) },
      ],
      { format: 'jit-explorer-checkpoint/1', step: '12' },
    );
    const headerEnd = 8 + Number(valid.readBigUInt64LE(0));
    const mutation = fc.record({
      truncateTo: fc.option(fc.integer({ min: 0, max: valid.length }), { nil: undefined, freq: 3 }),
      // Mostly inside the length field and the header, where the rules apply; sometimes in the data, which stays valid.
      edits: fc.array(fc.tuple(fc.oneof({ arbitrary: fc.integer({ min: 0, max: headerEnd - 1 }), weight: 3 },
        { arbitrary: fc.integer({ min: headerEnd, max: valid.length - 1 }), weight: 1 }), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
      append: fc.option(fc.uint8Array({ maxLength: 16 }), { nil: undefined, freq: 4 }),
    });
    // Instrument (not replace) Buffer.alloc to see the largest buffer the reader asks for.
    const realAlloc = Buffer.alloc;
    let largest = 0;
    Buffer.alloc = ((size: number, ...rest: unknown[]) => {
      largest = Math.max(largest, size);
      return (realAlloc as (...a: unknown[]) => Buffer)(size, ...rest);
    }) as typeof Buffer.alloc;
    let errors = 0;
    let oks = 0;
    try {
      fc.assert(
        fc.property(mutation, ({ truncateTo, edits, append }) => {
          let bytes = Buffer.from(valid);
          for (const [i, v] of edits) bytes[i] = v;
          if (truncateTo !== undefined) bytes = bytes.subarray(0, truncateTo);
          if (append) bytes = Buffer.concat([bytes, append]);
          const file = path.join(dir, 'mutated.safetensors');
          fs.writeFileSync(file, bytes);
          largest = 0;
          try {
            const r = readSafetensors(file);
            oks++;
            for (const t of r.tensors.values()) assert.strictEqual(t.data.length, t.shape.reduce((a, b) => a * b, 1));
          } catch (e) {
            errors++;
            assert.ok(e instanceof SafetensorsError, `not a SafetensorsError: ${String(e)}`);
            assert.ok(!/[\r\n]/.test(e.message) && e.message.length < 400, `not one short line: ${JSON.stringify(e.message)}`);
          }
          assert.ok(largest <= Math.max(8, bytes.length), `allocated ${largest} bytes for a ${bytes.length}-byte file`);
        }),
        { numRuns: 400, seed: 20251126 },
      );
    } finally {
      Buffer.alloc = realAlloc;
    }
    assert.ok(errors > 100 && oks > 10, `the mutations should produce both valid and invalid files (errors ${errors}, ok ${oks})`);
  });
});
