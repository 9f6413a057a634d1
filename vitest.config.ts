import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Tests run in Node; a file opts into a DOM with a `// @vitest-environment jsdom` docblock.
    environment: 'node',
    include: ['test/**/*.test.ts'],
    // Builds dist/ when it is missing: some tests load the built library.
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 20_000,
    pool: 'forks',
    // Type-level tests (expectTypeOf / assertType) live in test/**/*.test-d.ts and are
    // checked by `tsc` against tsconfig.json; they are reported like ordinary tests.
    typecheck: {
      enabled: true,
      include: ['test/**/*.test-d.ts'],
      tsconfig: './tsconfig.json',
    },
  },
});
