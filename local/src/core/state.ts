import fs from 'node:fs';
import path from 'node:path';

/**
 * Named JSON-serialisable stores. In memory by default; with a directory, each store is loaded at
 * start and, if it changed, written back after every mutating request, so a restarted twin keeps
 * its resources.
 */
export class StateStore {
  private readonly stores = new Map<string, unknown>();
  /** The text last written per store, so a save rewrites only the stores a request changed. */
  private readonly written = new Map<string, string>();

  constructor(readonly dir?: string) {
    if (dir) fs.mkdirSync(dir, { recursive: true });
  }

  get<T>(name: string, init: () => T): T {
    if (!this.stores.has(name)) {
      const file = this.file(name);
      const loaded = file && fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as T) : init();
      this.stores.set(name, loaded);
    }
    return this.stores.get(name) as T;
  }

  save(): void {
    if (!this.dir) return;
    for (const [name, value] of this.stores) {
      const text = JSON.stringify(value);
      if (this.written.get(name) === text) continue;
      const file = this.file(name)!;
      fs.writeFileSync(`${file}.tmp`, text);
      fs.renameSync(`${file}.tmp`, file);
      this.written.set(name, text);
    }
  }

  private file(name: string): string | undefined {
    return this.dir && path.join(this.dir, `${name}.json`);
  }
}
