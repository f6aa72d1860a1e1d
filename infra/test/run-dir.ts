/**
 * vitest globalSetup: one scratch folder for the whole run, shared by the test files (workers) through
 * `inject('runDir')` and removed when the run ends. It holds what is made once per run and only read
 * afterwards (the cloud assembly of infra/test/assembly.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';

export default function setup(project: TestProject) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vitest-run-'));
  project.provide('runDir', dir);
  return () => fs.rmSync(dir, { recursive: true, force: true });
}
