import { defineConfig } from 'vitest/config';

// The real-browser suite (`npm run test:browser`): the tests run in Node and drive Debian's Chromium through
// playwright-core against the built files in dist/ (run `npm run build` first) and real `ws` servers on
// 127.0.0.1. The files are named *.spec.ts so that the unit suite (`vitest run`, test/**/*.test.ts) never
// picks them up.
export default defineConfig({
  test: {
    environment: 'node',
    include: ['test/browser/**/*.spec.ts'],
    globalSetup: ['test/browser/global-setup.ts'],
    pool: 'forks',
    // One Chromium per file; files run one after another so timing-based checks are not starved on 2 cores.
    fileParallelism: false,
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
});
