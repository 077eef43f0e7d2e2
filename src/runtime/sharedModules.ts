// Makes packages loaded at run time from outside the engine bundle (the native TensorFlow addon, installed by
// the extension into its global storage) use the engine's own copies of some modules.
//
// Why: @tensorflow/tfjs-node requires '@tensorflow/tfjs', which requires '@tensorflow/tfjs-core' from the
// install folder, i.e. a second copy of tfjs-core next to the one bundled into the engine. tfjs-node then
// registers its 'tensorflow' backend and kernels on that copy. Copies of the same version partly share state
// through globalThis, but not their op handlers, environment flags or class identities, and a copy of another
// version (whatever npm put in the install folder) does not share it at all. Redirecting the module resolution
// makes the addon register on exactly the instance the trainer uses. (The alternative, keeping tfjs-core out of
// the bundle, would still load two copies whenever the install folder carries its own.)
import Module = require('module');

interface ModuleInternals {
  _resolveFilename(request: string, parent: unknown, isMain: boolean, options?: unknown): string;
}

const KEY_PREFIX = 'jit-engine-shared:';

/**
 * From now on, `require(name)` anywhere in this process returns `shared[name]` (the exports object of the
 * engine's copy). Returns a function that undoes it.
 */
export function shareModules(shared: Record<string, unknown>): () => void {
  const M = Module as unknown as ModuleInternals;
  const keys = new Map<string, string>();
  for (const [name, exports] of Object.entries(shared)) {
    const key = KEY_PREFIX + name;
    const m = new Module(key);
    m.filename = key;
    m.loaded = true;
    m.exports = exports;
    require.cache[key] = m;
    keys.set(name, key);
  }
  const original = M._resolveFilename;
  M._resolveFilename = function (this: unknown, request, parent, isMain, options) {
    return keys.get(request) ?? original.call(this, request, parent, isMain, options);
  };
  return () => {
    M._resolveFilename = original;
    for (const key of keys.values()) delete require.cache[key];
  };
}
