import * as assert from 'assert';
import { GOLDEN_TOLERANCE, verifyGolden } from '../../src/tasks/verifyGolden';
import { GOLDEN, useWasm } from './helpers';

describe('golden parity with the official JiT (jit-tiny-a, wasm)', function () {
  let results: Awaited<ReturnType<typeof verifyGolden>>;
  before(async () => {
    await useWasm();
    results = await verifyGolden(GOLDEN);
  });

  const byPrefix = (p: string) => results.filter((r) => r.case.startsWith(p));

  it('computes the fixed sin-cos position table', () => {
    assert.ok(byPrefix('pos_embed')[0].pass, JSON.stringify(byPrefix('pos_embed')));
  });

  it('matches the forward output and every recorded activation', () => {
    const fwd = byPrefix('forward.');
    assert.ok(fwd.length >= 8, `expected x_pred and 7 activations, got ${fwd.map((r) => r.case)}`);
    for (const r of fwd) assert.ok(r.error <= GOLDEN_TOLERANCE.forward, `${r.case}: ${r.error}`);
  });

  it('matches the v-loss', () => {
    const [loss] = byPrefix('loss');
    assert.ok(loss.error <= GOLDEN_TOLERANCE.loss, `loss error ${loss.error}`);
  });

  it('matches the gradient of every trainable parameter', () => {
    const grads = byPrefix('grad.');
    assert.strictEqual(grads.length, 70, 'one gradient per trainable tensor of the tiny model');
    for (const r of grads) assert.ok(r.error <= GOLDEN_TOLERANCE.grad, `${r.case}: ${r.error}`);
  });

  it('matches the Heun and Euler trajectories with CFG', () => {
    const traj = byPrefix('sample.');
    assert.deepStrictEqual(traj.map((r) => r.case).sort(), ['sample.euler.trajectory', 'sample.heun.trajectory']);
    for (const r of traj) assert.ok(r.error <= GOLDEN_TOLERANCE.trajectory, `${r.case}: ${r.error}`);
  });
});
