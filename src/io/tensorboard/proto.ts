// The parts of TensorBoard's Event and Summary protobufs (tensorboard/compat/proto: event.proto, summary.proto,
// tensor.proto, tensor_shape.proto) that scalars and images use, with their official field numbers, and their
// conversion to plain values. Scalars arrive either as Summary.Value.simple_value (PyTorch's SummaryWriter,
// TF1) or as a one-element tensor of the "scalars" plugin (TF2 tf.summary); images as Summary.Image (PyTorch) or
// as a string tensor [width, height, png...] of the "images" plugin (TF2).
import { Root, Type } from 'protobufjs/light';

const root = Root.fromJSON({
  nested: {
    tensorboard: {
      nested: {
        Event: {
          oneofs: { what: { oneof: ['file_version', 'summary'] } },
          fields: {
            wall_time: { type: 'double', id: 1 },
            step: { type: 'int64', id: 2 },
            file_version: { type: 'string', id: 3 },
            summary: { type: 'Summary', id: 5 },
          },
        },
        Summary: {
          fields: { value: { rule: 'repeated', type: 'Value', id: 1 } },
          nested: {
            Image: {
              fields: {
                height: { type: 'int32', id: 1 },
                width: { type: 'int32', id: 2 },
                colorspace: { type: 'int32', id: 3 },
                encoded_image_string: { type: 'bytes', id: 4 },
              },
            },
            Value: {
              oneofs: { value: { oneof: ['simple_value', 'image', 'tensor'] } },
              fields: {
                tag: { type: 'string', id: 1 },
                simple_value: { type: 'float', id: 2 },
                image: { type: 'Image', id: 4 },
                tensor: { type: 'TensorProto', id: 8 },
                metadata: { type: 'SummaryMetadata', id: 9 },
              },
            },
          },
        },
        SummaryMetadata: {
          fields: { plugin_data: { type: 'PluginData', id: 1 }, display_name: { type: 'string', id: 2 }, data_class: { type: 'int32', id: 4 } },
          nested: { PluginData: { fields: { plugin_name: { type: 'string', id: 1 }, content: { type: 'bytes', id: 2 } } } },
        },
        TensorProto: {
          fields: {
            dtype: { type: 'int32', id: 1 },
            tensor_shape: { type: 'TensorShapeProto', id: 2 },
            tensor_content: { type: 'bytes', id: 4 },
            float_val: { rule: 'repeated', type: 'float', id: 5, options: { packed: true } },
            double_val: { rule: 'repeated', type: 'double', id: 6, options: { packed: true } },
            int_val: { rule: 'repeated', type: 'int32', id: 7, options: { packed: true } },
            string_val: { rule: 'repeated', type: 'bytes', id: 8 },
            int64_val: { rule: 'repeated', type: 'int64', id: 10, options: { packed: true } },
          },
        },
        TensorShapeProto: {
          fields: { dim: { rule: 'repeated', type: 'Dim', id: 2 } },
          nested: { Dim: { fields: { size: { type: 'int64', id: 1 } } } },
        },
      },
    },
  },
});
const EventType: Type = root.lookupType('tensorboard.Event');

/** TensorFlow DataType codes (types.proto) that a scalar may have. */
const DT_FLOAT = 1;
const DT_DOUBLE = 2;
const DT_INT32 = 3;
const DT_INT64 = 9;

export const FILE_VERSION = 'brain.Event:2';

export interface ScalarValue {
  tag: string;
  value: number;
}

export interface ImageValue {
  tag: string;
  width: number;
  height: number;
  /** The encoded image as stored (PNG for every writer in practice). */
  png: Uint8Array;
}

/** An event as plain data: what a reader hands on. */
export interface DecodedEvent {
  wallTime: number;
  step: number;
  fileVersion?: string;
  scalars: ScalarValue[];
  images: ImageValue[];
}

interface RawTensor {
  dtype?: number;
  tensor_shape?: { dim?: { size?: number }[] };
  tensor_content?: Uint8Array;
  float_val?: number[];
  double_val?: number[];
  int_val?: number[];
  int64_val?: number[];
  string_val?: Uint8Array[];
}
interface RawValue {
  tag?: string;
  simple_value?: number;
  image?: { width?: number; height?: number; encoded_image_string?: Uint8Array };
  tensor?: RawTensor;
  metadata?: { plugin_data?: { plugin_name?: string } };
}
interface RawEvent {
  wall_time?: number;
  step?: number;
  file_version?: string;
  summary?: { value?: RawValue[] };
}

/** An Event; without a step (the file-version event) the field is left out, as TensorFlow's writers do. */
export function encodeEvent(e: { wallTime: number; step?: number; fileVersion?: string; scalars?: ScalarValue[]; images?: ImageValue[] }): Uint8Array {
  const values = [
    ...(e.scalars ?? []).map((s) => ({ tag: s.tag, simple_value: s.value })),
    ...(e.images ?? []).map((i) => ({ tag: i.tag, image: { width: i.width, height: i.height, colorspace: 3, encoded_image_string: i.png } })),
  ];
  const message: Record<string, unknown> = { wall_time: e.wallTime };
  if (e.step !== undefined) message.step = e.step;
  if (e.fileVersion !== undefined) message.file_version = e.fileVersion;
  else message.summary = { value: values };
  return EventType.encode(EventType.fromObject(message)).finish();
}

/** The single number of a scalar tensor, or undefined if the tensor is not one. */
function tensorScalar(t: RawTensor): number | undefined {
  const dims = t.tensor_shape?.dim ?? [];
  if (dims.reduce((n, d) => n * Number(d.size ?? 0), 1) !== 1) return undefined;
  const content = t.tensor_content;
  if (content && content.length) {
    const dv = new DataView(content.buffer, content.byteOffset, content.byteLength);
    const need = { [DT_FLOAT]: 4, [DT_DOUBLE]: 8, [DT_INT32]: 4, [DT_INT64]: 8 }[t.dtype ?? 0];
    if (need === undefined || content.length !== need) return undefined;
    if (t.dtype === DT_FLOAT) return dv.getFloat32(0, true);
    if (t.dtype === DT_DOUBLE) return dv.getFloat64(0, true);
    if (t.dtype === DT_INT32) return dv.getInt32(0, true);
    return Number(dv.getBigInt64(0, true));
  }
  const list = { [DT_FLOAT]: t.float_val, [DT_DOUBLE]: t.double_val, [DT_INT32]: t.int_val, [DT_INT64]: t.int64_val }[t.dtype ?? 0];
  return list && list.length === 1 ? Number(list[0]) : undefined;
}

/**
 * Decodes one event. `plugins` remembers each tag's plugin (TF2 writes the metadata only with a tag's first value).
 * Throws on bytes that are not an Event.
 */
export function decodeEvent(data: Uint8Array, plugins: Map<string, string>): DecodedEvent {
  const raw = EventType.toObject(EventType.decode(data), { longs: Number }) as RawEvent;
  const out: DecodedEvent = { wallTime: raw.wall_time ?? 0, step: Number(raw.step ?? 0), fileVersion: raw.file_version, scalars: [], images: [] };
  for (const v of raw.summary?.value ?? []) {
    const tag = v.tag ?? '';
    const plugin = v.metadata?.plugin_data?.plugin_name;
    if (plugin) plugins.set(tag, plugin);
    if (v.simple_value !== undefined) out.scalars.push({ tag, value: v.simple_value });
    else if (v.image?.encoded_image_string) out.images.push({ tag, width: v.image.width ?? 0, height: v.image.height ?? 0, png: v.image.encoded_image_string });
    else if (v.tensor) {
      const kind = plugins.get(tag);
      if (kind === 'scalars') {
        const value = tensorScalar(v.tensor);
        if (value !== undefined) out.scalars.push({ tag, value });
      } else if (kind === 'images') {
        // [width, height, image, image, ...] as strings; the first image stands for the step.
        const s = v.tensor.string_val ?? [];
        if (s.length >= 3) out.images.push({ tag, width: Number(Buffer.from(s[0]).toString()), height: Number(Buffer.from(s[1]).toString()), png: s[2] });
      }
    }
  }
  return out;
}
