// Registers the inspector, checkpoint conversion and manifold lab methods on the engine's peer (kept apart from
// main.ts so that unit tests drive exactly these handlers over an in-memory transport).
import type { EngineMethods, EngineNotice, HostMethods } from './protocol';
import type { RpcPeer } from './rpc';
import * as path from 'path';
import { loadCheckpoint } from '../io/checkpoint';
import { checkpointSanity } from '../io/checkpointSanity';
import { exportOfficial } from '../io/officialRun';
import { countImageFiles } from '../train/data/folder';
import { InspectorService, exportCheckpoint, importCheckpoint } from './inspectorService';
import { runLab } from './labService';

export type EnginePeerSide = RpcPeer<HostMethods, EngineMethods, never, EngineNotice>;

export function registerCheckpointHandlers(peer: EnginePeerSide, ensureBackend: () => Promise<void>): InspectorService {
  const inspector = new InspectorService();
  peer.handle('inspectOpen', (p) => inspector.open(p));
  peer.handle('inspectTensor', (p) => inspector.tensor(p));
  peer.handle('inspectCompare', (p) => inspector.compare(p));
  peer.handle('inspectClose', (p) => inspector.close(p.session));
  peer.handle('importCheckpoint', (p) => importCheckpoint(p));
  peer.handle('checkpointSanity', async (p) => ({ warnings: await checkpointSanity(p.file) }));
  peer.handle('exportOfficial', async ({ checkpoint, outputDir, datasetSize, ...opts }) => {
    if (!path.isAbsolute(checkpoint) || !path.isAbsolute(outputDir)) throw new Error('The export needs absolute paths for the checkpoint and the output folder.');
    if (datasetSize === undefined) {
      const { data } = loadCheckpoint(checkpoint).config;
      if (data.kind === 'builtin') throw new Error('This run trained on the built-in shapes, which have no fixed size: give the number of images per epoch of the data the official code trains on.');
      datasetSize = await countImageFiles(data.dir);
    }
    return exportOfficial(checkpoint, outputDir, { ...opts, datasetSize });
  });
  peer.handle('exportCheckpoint', (p) => exportCheckpoint(p));
  peer.handle('manifoldLab', async (p, ctx) => {
    await ensureBackend();
    return runLab(p, (e) => ctx.progress(e), ctx.signal);
  });
  return inspector;
}
