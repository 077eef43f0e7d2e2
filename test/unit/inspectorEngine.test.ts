// The engine's inspector, conversion and manifold lab handlers, driven over an in-memory transport exactly as the
// extension host drives them (messages are structured-cloned, like the IPC channel's 'advanced' serialization).
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { registerCheckpointHandlers } from '../../src/engine/checkpointHandlers';
import { EngineMethods, EngineNotice, HostMethods } from '../../src/engine/protocol';
import { unpackTensor } from '../../src/wire/tensorPack';
import { RemoteError, RpcMessage, RpcPeer, Transport } from '../../src/engine/rpc';
import { encodeSafetensors } from '../../src/io/safetensors';
import { FIXTURES, GOLDEN, tempDir, useWasm } from './helpers';

function transportPair(): [Transport, Transport] {
  const listeners: ((m: RpcMessage) => void)[][] = [[], []];
  const make = (me: number): Transport => ({
    send: (msg) => {
      const copy = structuredClone(msg);
      setImmediate(() => listeners[1 - me].forEach((l) => l(copy)));
    },
    onMessage: (l) => listeners[me].push(l),
    onClose: () => undefined,
  });
  return [make(0), make(1)];
}

function connect(): RpcPeer<EngineMethods, HostMethods, EngineNotice, never> {
  const [hostSide, engineSide] = transportPair();
  const engine = new RpcPeer<HostMethods, EngineMethods, never, EngineNotice>(engineSide);
  registerCheckpointHandlers(engine, useWasm);
  return new RpcPeer<EngineMethods, HostMethods, EngineNotice, never>(hostSide);
}

/** Counts the bytes read through fs while `fn` runs. */
async function bytesReadDuring<T>(fn: () => Promise<T>): Promise<{ value: T; bytes: number }> {
  // The CommonJS module object (the namespace import is read-only); the code under test reads through it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const patched = require('fs') as Record<string, unknown>;
  const readSync = fs.readSync;
  const readFileSync = fs.readFileSync;
  let bytes = 0;
  patched.readSync = (...args: Parameters<typeof fs.readSync>) => {
    const n = (readSync as (...a: unknown[]) => number)(...args);
    bytes += n;
    return n;
  };
  patched.readFileSync = (...args: Parameters<typeof fs.readFileSync>) => {
    const r = (readFileSync as (...a: unknown[]) => Buffer | string)(...args);
    bytes += r.length;
    return r;
  };
  try {
    return { value: await fn(), bytes };
  } finally {
    patched.readSync = readSync;
    patched.readFileSync = readFileSync;
  }
}

describe('engine inspector handlers', function () {
  this.timeout(600_000);
  const dir = tempDir('jit-inspector-');
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('opens a 1 GiB safetensors file and computes one tensor from its own byte range only', async () => {
    // A small tensor first, then a 1 GiB one: the header is written, the data region is a sparse file.
    const small = Float32Array.from({ length: 12 }, (_, i) => i - 5.5);
    const header = encodeSafetensors([{ name: 'net.blocks.0.attn.qkv.bias', shape: [3, 4], data: small }]);
    const headerLen = Number(header.readBigUInt64LE(0));
    const json = JSON.parse(header.subarray(8, 8 + headerLen).toString('utf8'));
    const bigBytes = 2 ** 30;
    json['net.blocks.0.mlp.fc1.weight'] = { dtype: 'F32', shape: [16384, 16384], data_offsets: [48, 48 + bigBytes] };
    let text = JSON.stringify(json);
    text += ' '.repeat((8 - (text.length % 8)) % 8);
    const file = path.join(dir, 'large.safetensors');
    const fd = fs.openSync(file, 'w');
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(text.length));
    fs.writeSync(fd, len);
    fs.writeSync(fd, text);
    fs.writeSync(fd, Buffer.from(small.buffer));
    fs.ftruncateSync(fd, 8 + text.length + 48 + bigBytes);
    fs.closeSync(fd);
    assert.ok(fs.statSync(file).size > 2 ** 30);

    const host = connect();
    const { value, bytes } = await bytesReadDuring(async () => {
      const opened = await host.request('inspectOpen', { file });
      const t = await host.request('inspectTensor', { session: opened.session, name: 'net.blocks.0.attn.qkv.bias' });
      return { opened, t };
    });
    assert.ok(bytes > 0, "the read counter saw the header and the tensor");
    assert.ok(bytes < 64 * 1024, `read ${bytes} bytes of a 1 GiB file to open it and summarise one small tensor`);
    const { opened, t } = value;
    assert.deepStrictEqual(opened.tensors.map((x) => x.name), ['net.blocks.0.attn.qkv.bias', 'net.blocks.0.mlp.fc1.weight']);
    assert.strictEqual(opened.totalParams, 12 + 16384 * 16384);
    assert.strictEqual(opened.fileBytes, fs.statSync(file).size);
    assert.strictEqual(t.min, -5.5);
    assert.strictEqual(t.max, 5.5);
    assert.ok(Math.abs(t.mean) < 1e-9);
    assert.strictEqual(t.nan, 0);
    const slice = unpackTensor(t.tensors, 'slice', 'float32');
    assert.deepStrictEqual(slice.shape, [3, 4]);
    assert.deepStrictEqual([...slice.data], [...small]);
    const hist = unpackTensor(t.tensors, 'histogram', 'float64');
    assert.strictEqual(hist.data.reduce((a, b) => a + b, 0), 12);
    // The 1 GiB tensor's heatmap would be too large to send: a sentence, not a frozen window.
    await assert.rejects(host.request('inspectTensor', { session: opened.session, name: 'net.blocks.0.mlp.fc1.weight' }), /more than \d+ cells/);
    assert.deepStrictEqual(await host.request('inspectClose', { session: opened.session }), { closed: true });
  });

  it('answers a corrupt or hostile file with one sentence', async () => {
    const host = connect();
    const bad = path.join(dir, 'bad.safetensors');
    fs.writeFileSync(bad, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 1, 2, 3]));
    const err = await host.request('inspectOpen', { file: bad }).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof RemoteError);
    assert.ok(err.message.length > 0 && !err.message.includes('\n'), err.message);
    const names = path.join(dir, 'names.safetensors');
    fs.writeFileSync(names, encodeSafetensors([{ name: '<img src=x onerror=alert(1)>', shape: [2], data: new Float32Array([1, 2]) }]));
    const opened = await host.request('inspectOpen', { file: names });
    assert.strictEqual(opened.tensors[0].name, '<img src=x onerror=alert(1)>'); // data; the page shows it as text
    await assert.rejects(host.request('inspectTensor', { session: opened.session + 1000, name: 'x' }), /no longer open/);
  });

  it('shows the patch embedding as filters and compares EMA with the online weights', async () => {
    const host = connect();
    const opened = await host.request('inspectOpen', { file: GOLDEN });
    const t = await host.request('inspectTensor', { session: opened.session, name: 'net.x_embedder.proj1.weight' });
    assert.ok(t.filters, 'proj1 has filters');
    const f = unpackTensor(t.tensors, 'filters', 'float32');
    assert.deepStrictEqual(f.shape, [t.filters.count, t.filters.size, t.filters.size, t.filters.channels]);
    assert.ok(f.data.every((v) => v >= 0 && v <= 1));

    const pth = path.join(FIXTURES, 'golden', 'jit-tiny-a-official.pth');
    const official = await host.request('inspectOpen', { file: pth });
    assert.ok(official.emaCopies.includes('ema1'));
    const c = await host.request('inspectCompare', { session: official.session, against: { ema: 'ema1' }, bins: 16 });
    assert.ok(c.pairs.length > 0);
    const counts = unpackTensor(c.tensors, 'counts', 'float64');
    assert.deepStrictEqual(counts.shape, [c.pairs.length, 16]);
    for (const p of c.pairs) assert.ok(p.relChange >= 0 && Number.isFinite(p.relChange), p.name);

    // Two files: the official .pth against the same weights in this project's layout.
    const both = await host.request('inspectCompare', { session: opened.session, against: { file: pth } });
    assert.ok(both.pairs.length > 0);
  });

  it('runs a tiny manifold lab with progress and returns the points as a binary pack', async () => {
    const host = connect();
    const progress: string[] = [];
    const r = await host.request('manifoldLab', { dims: [2, 8], targets: ['x', 'v'], steps: 6, batch: 16, samples: 32, sampleSteps: 4, trajectories: 3, progressEvery: 3 }, {
      onProgress: (e) => progress.push(e.type),
    });
    assert.strictEqual(r.cells.length, 4);
    assert.ok(progress.includes('train') && progress.filter((x) => x === 'cell').length === 4);
    assert.deepStrictEqual(unpackTensor(r.tensors, 'samples3', 'float32').shape, [32, 2]);
    assert.deepStrictEqual(unpackTensor(r.tensors, 'trajectories0', 'float32').shape, [3, 5, 2]);
    assert.ok(r.cells.every((c) => Number.isFinite(c.distance)));
  });
});
