import fs from 'node:fs';
import path from 'node:path';
import { currentAccount } from './accounts';

/**
 * Named JSON-serialisable stores. In memory by default; with a directory, each store is loaded at
 * start and, if it changed, written back after every mutating request, so a restarted twin keeps
 * its resources.
 *
 * `get` stores are per account: the object it returns stands for "this store in the account the
 * current request acts in" (see core/accounts.ts), so a repository named `agent` in one account is
 * not the one in another. `shared` stores (STS sessions, IAM's account table, signing keys) are global.
 */
export class StateStore {
  private readonly stores = new Map<string, unknown>();
  /** The text last written per store, so a save rewrites only the stores a request changed. */
  private readonly written = new Map<string, string>();

  constructor(
    readonly dir?: string,
    /** The account used outside a request; its stores keep their historical file names. */
    private readonly defaultAccount = '123456789012',
  ) {
    if (dir) fs.mkdirSync(dir, { recursive: true });
  }

  /** A per-account store: reads and writes go to the current account's copy. */
  get<T extends object>(name: string, init: () => T): T {
    const resolve = () => {
      const account = currentAccount() ?? this.defaultAccount;
      return this.load(account === this.defaultAccount ? name : `${name}@${account}`, init) as T & object;
    };
    return new Proxy({} as T, {
      get: (_t, key) => Reflect.get(resolve(), key),
      set: (_t, key, value) => Reflect.set(resolve(), key, value),
      has: (_t, key) => Reflect.has(resolve(), key),
      deleteProperty: (_t, key) => Reflect.deleteProperty(resolve(), key),
      ownKeys: () => Reflect.ownKeys(resolve()),
      getOwnPropertyDescriptor: (_t, key) => {
        const d = Reflect.getOwnPropertyDescriptor(resolve(), key);
        return d && { ...d, configurable: true };
      },
    });
  }

  /** One store for the whole twin, whatever the account. */
  shared<T>(name: string, init: () => T): T {
    return this.load(name, init);
  }

  private load<T>(name: string, init: () => T): T {
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
