// `jit scalars`: every scalar series of a TensorBoard log (a run folder of this project, an official output_dir,
// or one events file), as text or JSON ({"tag": [[step, value], ...]}).
import { Command } from 'commander';
import * as path from 'path';
import { readScalars } from '../io/tensorboard/reader';

async function scalars(target: string, o: { json?: boolean }): Promise<void> {
  const { series, files, stats } = await readScalars(path.resolve(target));
  if (o.json) console.log(JSON.stringify(series));
  else {
    console.log(`${files.length} event file${files.length === 1 ? '' : 's'}, ${stats.events} events`);
    for (const [tag, points] of Object.entries(series)) {
      console.log(`${tag} (${points.length} points)`);
      for (const [step, value] of points) console.log(`  ${step}\t${Number(value.toPrecision(7))}`); // float32: 7 digits
    }
  }
  if (stats.corrupt) console.error(`note: skipped ${stats.corrupt} damaged record${stats.corrupt === 1 ? '' : 's'} (first: ${stats.firstDamage}).`);
  if (stats.tornBytes) console.error(`note: the last ${stats.tornBytes} bytes are not a whole record yet: the file is still being written, or it was cut off.`);
}

export function addScalarsCommand(program: Command): void {
  program.command('scalars').description('print every scalar series of a TensorBoard log: a run folder, an official output_dir, or an events file')
    .argument('<run folder|output_dir|events file>')
    .option('--json', 'JSON output: {"tag": [[step, value], ...]}')
    .action(scalars);
}
