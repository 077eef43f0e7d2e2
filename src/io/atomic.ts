// Crash-safe file writes: a temporary file in the same folder, flushed and fsynced, renamed over the target,
// then the folder fsynced, so a reader never sees a half-written file under the final name.
import * as fs from 'fs';
import * as path from 'path';

export const TMP_MARK = '.tmp-';

export function writeFileAtomic(file: string, data: Buffer | string): void {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  writeFileAtomicWith(file, (fd) => writeAll(fd, buf));
}

/** Writes all of `buf` at the file's current position (writeSync may write less than asked). */
export function writeAll(fd: number, buf: Uint8Array): void {
  let off = 0;
  while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
}

/** As writeFileAtomic, for files written piece by piece: `write` gets the temporary file's descriptor. */
export function writeFileAtomicWith(file: string, write: (fd: number) => void): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `${path.basename(file)}${TMP_MARK}${process.pid}-${Date.now()}`);
  const fd = fs.openSync(tmp, 'w');
  try {
    write(fd);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fsyncDir(dir);
}

function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Some platforms (Windows) cannot fsync a directory; the rename is still atomic there.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Removes temporary files left by writes that were interrupted (a killed process). Returns their names. */
export function removeStaleTemporaries(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const stale = fs.readdirSync(dir).filter((f) => f.includes(TMP_MARK));
  for (const f of stale) fs.rmSync(path.join(dir, f), { force: true });
  return stale;
}
