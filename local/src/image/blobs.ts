import fs from 'node:fs';
import path from 'node:path';
import { sha256 } from '../../../.github/actions/src/lib/image-format';

/**
 * Content-addressed blob storage. Blobs are immutable, so with a directory each is written once as a
 * file (not into the JSON state, which is serialised after every request); without one they stay in memory.
 */
export class BlobStore {
  private readonly memory = new Map<string, Buffer>();

  constructor(private readonly dir?: string) {
    if (dir) fs.mkdirSync(dir, { recursive: true });
  }

  /** Store `bytes`; when `digest` is given it must match. Returns the digest. */
  put(bytes: Buffer, digest?: string): string {
    const actual = sha256(bytes);
    if (digest && digest !== actual)
      throw new Error(`digest mismatch: the content is ${actual}, not ${digest}`);
    if (this.has(actual)) return actual;
    if (this.dir) {
      const file = this.file(actual);
      fs.writeFileSync(`${file}.tmp`, bytes);
      fs.renameSync(`${file}.tmp`, file);
    } else {
      this.memory.set(actual, bytes);
    }
    return actual;
  }

  has(digest: string): boolean {
    return this.memory.has(digest) || (!!this.dir && fs.existsSync(this.file(digest)));
  }

  get(digest: string): Buffer | undefined {
    if (this.memory.has(digest)) return this.memory.get(digest);
    if (this.dir && fs.existsSync(this.file(digest))) return fs.readFileSync(this.file(digest));
    return undefined;
  }

  private file(digest: string): string {
    if (!/^sha256:[a-f0-9]{64}$/.test(digest)) throw new Error(`not a sha256 digest: ${digest}`);
    return path.join(this.dir!, digest.replace(':', '-'));
  }
}
