import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

/**
 * Writes `path` so that readers see the old file or the complete new one, never a torn one, even
 * across a crash: write a temporary file in the same directory (rename is only atomic within a file
 * system), fsync it, rename it over the target, then fsync the directory so the rename is durable.
 * The trainer checkpoints through this while the server may be loading the previous checkpoint.
 */
export function writeFileAtomicSync(path: string, write: (fd: number) => void): void {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(temp, 'wx');
  try {
    write(fd);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(temp, path);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
  fsyncDirectory(dir);
}

/** Makes a rename (or a create, or a delete) in `dir` durable: the directory entry itself is fsynced. */
export function fsyncDirectory(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch {
    return; // some platforms (Windows) cannot open a directory; the rename itself already happened
  }
  try {
    fsyncSync(fd);
  } catch {
    // and some file systems refuse fsync on a directory (EINVAL/EPERM): nothing more can be done
  } finally {
    closeSync(fd);
  }
}

export function writeBytesAtomicSync(path: string, bytes: Uint8Array): void {
  writeFileAtomicSync(path, (fd) => {
    for (let offset = 0; offset < bytes.byteLength; ) offset += writeSync(fd, bytes, offset);
  });
}

export function writeJsonAtomicSync(path: string, value: unknown): void {
  writeBytesAtomicSync(path, new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`));
}

/**
 * Writes a directory at `target` by filling a staging directory beside it and renaming it into place,
 * so a reader (a server loading a new version) never sees a half-written one.
 */
export function writeDirAtomicSync(target: string, fill: (staging: string) => void): void {
  const staging = join(dirname(target), `.${basename(target)}.staging-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  fill(staging);
  if (existsSync(target)) rmSync(target, { recursive: true });
  renameSync(staging, target);
}
