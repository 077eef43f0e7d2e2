// The network runtime: the library that runs the network, ONNX Runtime or TensorFlow.js (not the engine process,
// which is the child process that hosts either). Training and sampling choose one by the same setting.
export type NetworkRuntime = 'onnx' | 'tfjs';

/** `auto` picks ONNX Runtime unless the TF.js backend runs on a GPU (training) or ONNX Runtime does not load. */
export const RUNTIME_SETTINGS = ['auto', 'onnx', 'tfjs'] as const;
export type RuntimeSetting = (typeof RUNTIME_SETTINGS)[number];
