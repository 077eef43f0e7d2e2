// A small builder for ONNX graphs on top of the onnx-proto message classes: nodes with generated output names,
// typed attributes, constant initializers (inline or in an external weights file) and the final ModelProto.
import { onnx } from 'onnx-proto';

export const OPSET = 17; // ReduceMean still takes `axes` as an attribute; Softmax/Split/Slice in their opset-13 forms
const IR_VERSION = 8; // the IR of ONNX 1.12-1.13, which introduced opset 17

const { DataType } = onnx.TensorProto;
const { AttributeType } = onnx.AttributeProto;

/** One dimension of a graph input or output: a fixed size or a symbolic name (the batch). */
export type Dim = number | string;

export const attr = {
  int: (name: string, i: number): onnx.IAttributeProto => ({ name, type: AttributeType.INT, i }),
  ints: (name: string, ints: number[]): onnx.IAttributeProto => ({ name, type: AttributeType.INTS, ints }),
  float: (name: string, f: number): onnx.IAttributeProto => ({ name, type: AttributeType.FLOAT, f }),
};

/** Where the bytes of large initializers go: inline in the model, or appended to one external file. */
export interface ExternalWeights {
  /** File name, relative to the folder of the model file, recorded in each tensor's `location`. */
  location: string;
  /** Initializers with at least this many bytes go to the file. */
  minBytes: number;
  /** The file's bytes, in order (filled while building). */
  chunks: Uint8Array[];
  size: number;
}

export class GraphBuilder {
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  private readonly inputs: onnx.IValueInfoProto[] = [];
  private readonly outputs: onnx.IValueInfoProto[] = [];
  private readonly names = new Set<string>();
  /** Node outputs renamed to graph output names; later uses of the old name are mapped. */
  private readonly renamed = new Map<string, string>();
  private readonly shapes = new Map<string, number[]>();
  private count = 0;

  constructor(private readonly external?: ExternalWeights) {}

  /** Adds a node; returns its output names (`outputs` of them). */
  op(opType: string, inputs: string[], attributes: onnx.IAttributeProto[] = [], outputs = 1): string[] {
    const id = this.count++;
    const out = Array.from({ length: outputs }, (_, i) => `${opType.toLowerCase()}_${id}${outputs > 1 ? `_${i}` : ''}`);
    this.nodes.push({ name: `${opType}_${id}`, opType, input: inputs.map((i) => this.renamed.get(i) ?? i), output: out, attribute: attributes });
    return out;
  }

  /** Adds a node with one output and returns its name. */
  op1(opType: string, inputs: string[], attributes: onnx.IAttributeProto[] = []): string {
    return this.op(opType, inputs, attributes, 1)[0];
  }

  /** A float32 constant. */
  floats(name: string, data: Float32Array, dims: number[]): string {
    if (data.length !== dims.reduce((a, b) => a * b, 1)) throw new Error(`constant ${name}: ${data.length} values do not fill [${dims.join(', ')}]`);
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength); // ONNX raw data is little-endian, like every host Node runs on
    const t: onnx.ITensorProto = { name: this.unique(name), dims, dataType: DataType.FLOAT };
    this.shapes.set(name, dims);
    if (this.external && bytes.byteLength >= this.external.minBytes) {
      const offset = this.external.size;
      this.external.chunks.push(bytes);
      this.external.size += bytes.byteLength;
      t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
      t.externalData = [
        { key: 'location', value: this.external.location },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(bytes.byteLength) },
      ];
    } else {
      t.rawData = bytes;
    }
    this.initializers.push(t);
    return t.name!;
  }

  /** The shape of a float32 constant. */
  shapeOf(name: string): number[] {
    const s = this.shapes.get(name);
    if (!s) throw new Error(`internal: ${name} is not a float constant`);
    return s;
  }

  /** A float32 scalar constant (rank 0, broadcasts against anything). */
  scalar(name: string, value: number): string {
    return this.floats(name, Float32Array.of(value), []);
  }

  /** A 1-D int64 constant (shapes, axes, slice bounds), shared by every node that uses the same values. */
  int64s(values: number[]): string {
    const name = `int64_${values.join('_').replace(/-/g, 'm')}`;
    if (!this.names.has(name)) this.initializers.push({ name: this.unique(name), dims: [values.length], dataType: DataType.INT64, int64Data: values });
    return name;
  }

  input(name: string, elemType: 'float32' | 'int64', shape: Dim[]): string {
    this.inputs.push(valueInfo(name, elemType, shape));
    return name;
  }

  /**
   * Declares `value` a graph output named `name`. A node's output is renamed rather than copied (an Identity node
   * would copy every gradient of a training graph); inputs, constants and values already output go through Identity.
   */
  output(name: string, value: string, shape: Dim[]): void {
    value = this.renamed.get(value) ?? value;
    const producer = value === name ? undefined : this.nodes.find((n) => n.output!.includes(value));
    const renamable = producer && !this.outputs.some((o) => o.name === value) && !this.names.has(value);
    if (renamable) {
      producer!.output = producer!.output!.map((o) => (o === value ? name : o));
      for (const n of this.nodes) n.input = n.input!.map((i) => (i === value ? name : i));
      this.renamed.set(value, name);
    } else if (value !== name) {
      this.nodes.push({ name: `output_${name}`, opType: 'Identity', input: [value], output: [name] });
    }
    this.outputs.push(valueInfo(name, 'float32', shape));
  }

  model(graphName: string, docString: string): onnx.ModelProto {
    return onnx.ModelProto.create({
      irVersion: IR_VERSION,
      opsetImport: [{ domain: '', version: OPSET }],
      producerName: 'jit-explorer',
      docString,
      graph: { name: graphName, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs },
    });
  }

  private unique(name: string): string {
    if (this.names.has(name)) throw new Error(`constant ${name} is defined twice`);
    this.names.add(name);
    return name;
  }
}

function valueInfo(name: string, elemType: 'float32' | 'int64', shape: Dim[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: elemType === 'float32' ? DataType.FLOAT : DataType.INT64,
        shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/** Serialises a model to protobuf bytes. */
export function encodeModel(m: onnx.ModelProto): Uint8Array {
  return onnx.ModelProto.encode(m).finish();
}
