import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

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
 * Both are written beside their final name and renamed into place, content first, so a file is
 * listed only once it is complete and a crash mid-upload leaves nothing half-written behind a name.
 */
export class FileStore {
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  save(filename: string, content: Buffer, examples: number): StoredFile {
    const id = `file-${randomBytes(12).toString('hex')}`;
    const file: StoredFile = {
      id,
      object: 'file',
      bytes: content.length,
      created_at: Math.floor(Date.now() / 1000),
      filename,
      purpose: 'fine-tune',
      status: 'processed',
      examples,
    };
    this.writeAtomically(`${id}.jsonl`, content);
    this.writeAtomically(`${id}.json`, `${JSON.stringify(file)}\n`);
    return file;
  }

  /** The file's description, or undefined for an unknown (or malformed) id. */
  get(id: string): StoredFile | undefined {
    if (!FILE_ID.test(id)) return undefined;
    const meta = join(this.dir, `${id}.json`);
    return existsSync(meta) ? (JSON.parse(readFileSync(meta, 'utf8')) as StoredFile) : undefined;
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

  /** Newest first; ties (same second) by id so pages are stable. */
  list(): StoredFile[] {
    return readdirSync(this.dir)
      .filter((name) => /^file-[0-9a-f]{24}\.json$/.test(name))
      .map((name) => JSON.parse(readFileSync(join(this.dir, name), 'utf8')) as StoredFile)
      .sort((a, b) => b.created_at - a.created_at || (a.id < b.id ? 1 : -1));
  }

  private writeAtomically(name: string, data: Buffer | string): void {
    const staging = join(this.dir, `.${name}.${process.pid}.tmp`);
    writeFileSync(staging, data, { flush: true });
    renameSync(staging, join(this.dir, name));
  }
}
