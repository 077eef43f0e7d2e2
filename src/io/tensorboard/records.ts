// TFRecord framing, the container of TensorBoard event files: each record is
//   uint64 length | uint32 masked CRC32C of those 8 bytes | data | uint32 masked CRC32C of data   (little-endian)
// The mask (rotate right by 15, add a constant) keeps a CRC of data that itself holds CRCs from looking valid.
// The scanner finds records in a window of bytes; it tells a record cut short by the end of the window (a file
// still being written) from a damaged one, and after a damaged header finds the next plausible record.
import { crc32c } from '@aws-crypto/crc32c';

const MASK_DELTA = 0xa282ead8;
export const HEADER_BYTES = 12;
export const FOOTER_BYTES = 4;

/** A record longer than this is taken as damage, never allocated (a sample grid is a few MB). */
export const MAX_RECORD_BYTES = 128 * 1024 * 1024;

const ZERO_BLOCK = Buffer.alloc(4096);

export function maskedCrc32c(data: Uint8Array): number {
  const crc = crc32c(data) >>> 0;
  return (((crc >>> 15) | (crc << 17)) + MASK_DELTA) >>> 0;
}

/** One record around `data`, ready to append to a file with a single write. */
export function encodeRecord(data: Uint8Array): Buffer {
  const out = Buffer.alloc(HEADER_BYTES + data.length + FOOTER_BYTES);
  out.writeBigUInt64LE(BigInt(data.length), 0);
  out.writeUInt32LE(maskedCrc32c(out.subarray(0, 8)), 8);
  out.set(data, HEADER_BYTES);
  out.writeUInt32LE(maskedCrc32c(data), HEADER_BYTES + data.length);
  return out;
}

export type ScanResult =
  /** A whole record whose checksums match; the next one starts at `next`. */
  | { kind: 'record'; data: Uint8Array; next: number }
  /** The window ends inside a record that looks sound so far: wait for more bytes. */
  | { kind: 'incomplete' }
  /** Damage: the bytes up to `next` are not a record (a bad checksum, an absurd length, garbage). */
  | { kind: 'corrupt'; next: number; reason: string };

/** The length a header at `at` declares, or undefined if the header's own checksum or the length is wrong. */
function headerLength(buf: Buffer, at: number, maxRecordBytes: number): number | undefined {
  const length = buf.readBigUInt64LE(at);
  if (length > BigInt(maxRecordBytes)) return undefined;
  if (buf.readUInt32LE(at + 8) !== maskedCrc32c(buf.subarray(at, at + 8))) return undefined;
  return Number(length);
}

/**
 * Reads the record at `at` of `buf`, a window of the file that may end anywhere.
 * After a damaged header the scan moves to the next offset whose 12 bytes form a valid header (a chance match is
 * 1 in 2^32), so one damaged record costs only itself.
 */
export function scanRecord(buf: Buffer, at: number, maxRecordBytes = MAX_RECORD_BYTES): ScanResult {
  if (buf.length - at < HEADER_BYTES) return { kind: 'incomplete' };
  const length = headerLength(buf, at, maxRecordBytes);
  if (length === undefined) {
    const next = findHeader(buf, at + 1, maxRecordBytes);
    return { kind: 'corrupt', next, reason: buf.readBigUInt64LE(at) > BigInt(maxRecordBytes) ? 'an absurd record length' : 'a damaged record header' };
  }
  const end = at + HEADER_BYTES + length + FOOTER_BYTES;
  if (buf.length < end) return { kind: 'incomplete' };
  const data = buf.subarray(at + HEADER_BYTES, at + HEADER_BYTES + length);
  if (buf.readUInt32LE(at + HEADER_BYTES + length) !== maskedCrc32c(data)) return { kind: 'corrupt', next: end, reason: 'a record whose data fails its checksum' };
  return { kind: 'record', data, next: end };
}

/**
 * The first offset from `from` where a valid header starts; where none does, the offset from which one could still
 * start once more bytes arrive (the last 11 bytes of the window).
 */
function findHeader(buf: Buffer, from: number, maxRecordBytes: number): number {
  const last = buf.length - HEADER_BYTES;
  for (let i = from; i <= last; i++) {
    // A header's checksum bytes are never all zero, so no header ends inside a block of zeros (a preallocated or
    // sparse stretch of a file): such blocks are skipped whole.
    if (buf[i] === 0 && i + ZERO_BLOCK.length <= buf.length && buf.subarray(i, i + ZERO_BLOCK.length).equals(ZERO_BLOCK)) {
      i += ZERO_BLOCK.length - HEADER_BYTES;
      continue;
    }
    // Cheap filters before the checksum: a plausible length has its top bytes zero, and no header is all zeros.
    if (buf[i + 7] !== 0 || buf[i + 6] !== 0 || buf[i + 5] !== 0) continue;
    if (buf[i + 8] === 0 && buf[i + 9] === 0 && buf[i + 10] === 0 && buf[i + 11] === 0 && buf.readUInt32LE(i) === 0) continue;
    if (headerLength(buf, i, maxRecordBytes) !== undefined) return i;
  }
  return Math.max(from, last + 1);
}
