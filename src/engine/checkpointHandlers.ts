// Registers the inspector, checkpoint conversion and manifold lab methods on the engine's peer (kept apart from
// main.ts so that unit tests drive exactly these handlers over an in-memory transport).
import type { EngineMethods, EngineNotice, HostMethods } from './protocol';
import type { RpcPeer } from './rpc';
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
  peer.handle('exportCheckpoint', (p) => exportCheckpoint(p));
  peer.handle('manifoldLab', async (p, ctx) => {
    await ensureBackend();
    return runLab(p, (e) => ctx.progress(e), ctx.signal);
  });
  return inspector;
}
