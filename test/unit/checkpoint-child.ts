// The training process that checkpoint.test.ts kills with SIGKILL: it trains a model large enough (84 MB checkpoints)
// that writing takes a noticeable time, writes a checkpoint after every step, and reports on stdout (JSON lines).
//   new <runsRoot>        start a run
//   resume <checkpoint>   continue the run the checkpoint belongs to
import * as path from 'path';
import { runTraining } from '../../src/run/loop';
import { useWasm } from './helpers';

async function main(): Promise<void> {
  const [mode, target] = process.argv.slice(2);
  if ((mode !== 'new' && mode !== 'resume') || !target) throw new Error('usage: checkpoint-child.ts new <runsRoot> | resume <checkpoint>');
  await useWasm();
  const say = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
  await runTraining(
    mode === 'new'
      ? { runsRoot: target, runName: 'crash', overrides: { preset: 'JiT-Ti/4', batch: 1, steps: 1_000_000, checkpointEvery: 1, keepCheckpoints: 2, sampleEvery: 1_000_000 } }
      : { runsRoot: path.dirname(target), resumeFrom: target },
    {
      onEvent: (e) => {
        if (e.type === 'started') say({ type: 'started', runDir: e.runDir, step: e.step });
        if (e.type === 'checkpoint') say({ type: 'checkpoint', step: e.step, file: e.file });
      },
    },
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
