"""An independent reader of TensorBoard event files, to check the ones JiT Explorer writes: TFRecord framing with
a bitwise CRC32C (not the table the writer uses), and the Event/Summary messages parsed by Google's protobuf
library from descriptors built here with the field numbers of tensorboard/compat/proto (event.proto,
summary.proto). Prints {"version": ..., "scalars": {tag: [[step, value], ...]}, "images": [[tag, step, w, h, png
bytes, png signature ok]]} as JSON.

Usage: read_events.py <events file>
"""
import json
import struct
import sys

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def masked(crc):
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def event_class():
    F = descriptor_pb2.FieldDescriptorProto
    fdp = descriptor_pb2.FileDescriptorProto(name="events_check.proto", package="tbcheck", syntax="proto3")

    def message(name, fields, parent=None):
        m = (parent.nested_type if parent else fdp.message_type).add(name=name)
        for fname, number, ftype, label, type_name in fields:
            f = m.field.add(name=fname, number=number, type=ftype, label=label)
            if type_name:
                f.type_name = type_name
        return m

    opt, rep = F.LABEL_OPTIONAL, F.LABEL_REPEATED
    summary = message("Summary", [("value", 1, F.TYPE_MESSAGE, rep, ".tbcheck.Summary.Value")])
    message("Image", [
        ("height", 1, F.TYPE_INT32, opt, None), ("width", 2, F.TYPE_INT32, opt, None),
        ("colorspace", 3, F.TYPE_INT32, opt, None), ("encoded_image_string", 4, F.TYPE_BYTES, opt, None),
    ], summary)
    message("Value", [
        ("tag", 1, F.TYPE_STRING, opt, None), ("simple_value", 2, F.TYPE_FLOAT, opt, None),
        ("image", 4, F.TYPE_MESSAGE, opt, ".tbcheck.Summary.Image"),
    ], summary)
    message("Event", [
        ("wall_time", 1, F.TYPE_DOUBLE, opt, None), ("step", 2, F.TYPE_INT64, opt, None),
        ("file_version", 3, F.TYPE_STRING, opt, None), ("summary", 5, F.TYPE_MESSAGE, opt, ".tbcheck.Summary"),
    ])
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    descriptor = pool.FindMessageTypeByName("tbcheck.Event")
    if hasattr(message_factory, "GetMessageClass"):
        return message_factory.GetMessageClass(descriptor)
    return message_factory.MessageFactory(pool).GetPrototype(descriptor)


def main(path):
    Event = event_class()
    data = open(path, "rb").read()
    pos = 0
    out = {"version": None, "scalars": {}, "images": []}
    while pos < len(data):
        header = data[pos:pos + 8]
        (length,) = struct.unpack("<Q", header)
        (header_crc,) = struct.unpack("<I", data[pos + 8:pos + 12])
        assert header_crc == masked(crc32c(header)), "header checksum at byte %d" % pos
        body = data[pos + 12:pos + 12 + length]
        (body_crc,) = struct.unpack("<I", data[pos + 12 + length:pos + 16 + length])
        assert body_crc == masked(crc32c(body)), "data checksum at byte %d" % pos
        pos += 16 + length
        event = Event.FromString(body)
        if event.file_version:
            out["version"] = event.file_version
        for v in event.summary.value:
            if v.HasField("image"):
                png = v.image.encoded_image_string
                out["images"].append([v.tag, event.step, v.image.width, v.image.height, len(png), png[:8] == b"\x89PNG\r\n\x1a\n"])
            else:
                out["scalars"].setdefault(v.tag, []).append([event.step, v.simple_value])
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
