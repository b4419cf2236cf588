import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeBytesAtomicSync } from '../runtime/checkpoint/atomic-write.ts';

/** An uploaded file as OpenAI's files API describes it. */
export interface StoredFile {
  id: string;
  object: 'file';
  bytes: number;
  created_at: number;
  filename: string;
  purpose: 'fine-tune';
  status: 'processed';
  /** Instruction examples the file holds. */
  examples: number;
}

const FILE_ID = /^file-[0-9a-f]{24}$/;

/**
 * Uploaded finetuning files under FLAN_DATA_DIR/files: `<id>.jsonl` and its description `<id>.json`.
 * Both are written beside their final name, fsynced and renamed into place (the directory fsynced
 * too), content first, so a file is listed only once it is complete and a crash mid-upload leaves
 * nothing half-written behind a name. Temporary files a crash left behind are swept on open.
 */
export class FileStore {
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    for (const name of readdirSync(dir)) if (name.startsWith('.') && name.endsWith('.tmp')) rmSync(join(dir, name), { force: true });
  }

  /** A fresh path in this directory for an upload to stream into; swept on the next open if left behind. */
  stagingPath(): string {
    return join(this.dir, `.upload-${randomBytes(8).toString('hex')}.tmp`);
  }

  /** Stores the checked upload streamed into `staging` (from stagingPath): fsynced, renamed in, then described. */
  adopt(staging: string, filename: string, examples: number): StoredFile {
    const fd = openSync(staging, 'r+');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    const id = `file-${randomBytes(12).toString('hex')}`;
    const content = join(this.dir, `${id}.jsonl`);
    renameSync(staging, content);
    try {
      return this.describe(id, filename, statSync(content).size, examples);
    } catch (err) {
      rmSync(content, { force: true }); // content without a description would never be listed or swept
      throw err;
    }
  }

  /** Writes the description that makes a stored content file listed (its write fsyncs the directory too). */
  private describe(id: string, filename: string, bytes: number, examples: number): StoredFile {
    const file: StoredFile = {
      id,
      object: 'file',
      bytes,
      created_at: Math.floor(Date.now() / 1000),
      filename,
      purpose: 'fine-tune',
      status: 'processed',
      examples,
    };
    writeBytesAtomicSync(join(this.dir, `${id}.json`), Buffer.from(`${JSON.stringify(file)}\n`));
    return file;
  }

  /** The file's description, or undefined for an unknown (or malformed) id. */
  get(id: string): StoredFile | undefined {
    if (!FILE_ID.test(id)) return undefined;
    const meta = join(this.dir, `${id}.json`);
    return existsSync(meta) ? this.readRecord(meta) : undefined;
  }

  /** A description that does not parse (a disk fault, a hand edit) is skipped and reported, not fatal to the list. */
  private readRecord(path: string): StoredFile | undefined {
    try {
      return JSON.parse(readFileSync(path, 'utf8')) as StoredFile;
    } catch (err) {
      process.emitWarning(`skipping the unreadable file record ${path}: ${(err as Error).message}`);
      return undefined;
    }
  }

  /** Where a stored file's content lives; undefined for an unknown id. */
  contentPath(id: string): string | undefined {
    return this.get(id) ? join(this.dir, `${id}.jsonl`) : undefined;
  }

  /** The id a content path belongs to (the inverse of contentPath). */
  idOf(contentPath: string): string | undefined {
    const match = /(file-[0-9a-f]{24})\.jsonl$/.exec(contentPath);
    return match?.[1];
  }

  /** Removes a stored file, description first so that it stops being listed before its content goes. */
  delete(id: string): boolean {
    if (!this.get(id)) return false;
    rmSync(join(this.dir, `${id}.json`), { force: true });
    rmSync(join(this.dir, `${id}.jsonl`), { force: true });
    return true;
  }

  /** Newest first; ties (same second) by id so pages are stable. */
  list(): StoredFile[] {
    return readdirSync(this.dir)
      .filter((name) => /^file-[0-9a-f]{24}\.json$/.test(name))
      .flatMap((name) => this.readRecord(join(this.dir, name)) ?? [])
      .sort((a, b) => b.created_at - a.created_at || (a.id < b.id ? 1 : -1));
  }
}
