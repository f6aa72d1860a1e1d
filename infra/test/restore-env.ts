/**
 * vitest setupFiles: process.env as it was before the file, once the file is done. Files outside the
 * isolated project share a worker process (vitest.config.ts), and tests set variables for the SDK
 * clients they start (e.g. `Object.assign(process.env, twin.env())`): without this, the next file
 * would find another file's endpoint and credentials.
 */
import { afterAll } from 'vitest';

const before = { ...process.env };

afterAll(() => {
  for (const name of Object.keys(process.env)) if (!(name in before)) delete process.env[name];
  Object.assign(process.env, before);
});
