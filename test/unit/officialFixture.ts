// An output folder of the official JiT code, made for tests: a checkpoint-last.pth in the official layout
// (the real golden checkpoint of the official code) and TensorBoard event files logged as engine_jit.py logs:
// train_loss and lr as separate events every log_freq iterations at x = int((iter / iters_per_epoch + epoch) * 1000).
import * as fs from 'fs';
import * as path from 'path';
import { EventFileWriter } from '../../src/io/tensorboard/writer';
import { FIXTURES } from './helpers';

export const OFFICIAL_PTH = path.join(FIXTURES, 'golden', 'jit-tiny-a-official.pth');

/** The loss the fixture logs at fractional epoch e: decays from ~1.2 towards 0.3. */
export const fixtureLoss = (epoch: number) => 0.3 + 0.9 * Math.exp(-epoch);

/** Appends the official code's logging of epochs [from, to) to a new event file in `dir`. */
export function logOfficialEpochs(dir: string, from: number, to: number, loss = fixtureLoss, itersPerEpoch = 50, logFreq = 10): string {
  const w = EventFileWriter.create(dir);
  for (let epoch = from; epoch < to; epoch++) {
    for (let iter = 0; iter < itersPerEpoch; iter += logFreq) {
      const e = iter / itersPerEpoch + epoch;
      const x = Math.floor(e * 1000);
      w.scalars(x, [{ tag: 'train_loss', value: loss(e) }]);
      w.scalars(x, [{ tag: 'lr', value: 5e-5 * Math.min(1, e / 1) }]);
    }
  }
  w.close();
  return w.file;
}

/** An official output folder with the golden checkpoint as checkpoint-last.pth and 3 epochs of logs. */
export function makeOfficialRun(dir: string, epochs = 3): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(OFFICIAL_PTH, path.join(dir, 'checkpoint-last.pth'));
  logOfficialEpochs(dir, 0, epochs);
  return dir;
}
