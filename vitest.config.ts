import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      '{agent,local,infra,environments,scripts,cost,evals}/test/**/*.test.ts',
      '.github/actions/test/**/*.test.ts',
    ],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration tests start real servers; two cores do not like many at once.
    maxWorkers: 2,
    env: {
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    server: {
      deps: { inline: [/@actions\/(workflow-parser|languageservice|expressions)/] },
    },
  },
});
