// Builds the React and Vue examples (`npm run build:examples`), each into one ES module with a source map:
//   examples/react/dist/main.js     React 19 (production build), from examples/react/src/main.tsx
//   examples/vue/dist/main.js       Vue 3, runtime-only (no template compiler), from examples/vue/src/main.ts
// `surewire` is the package's own built ESM file, dist/surewire.mjs, as an app's bundler would take it from
// node_modules: run `npm run build` first. Neither bundle uses eval or new Function, so both pages run under
// `Content-Security-Policy: script-src 'self'` (checked by `node .ci/check-dist.mjs examples/react/dist examples/vue/dist`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import typescript from '@rollup/plugin-typescript';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import commonjs from '@rollup/plugin-commonjs';
import replace from '@rollup/plugin-replace';
import terser from '@rollup/plugin-terser';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const surewire = here('../dist/surewire.mjs');

const resolveAliases = {
  name: 'examples-aliases',
  resolveId(id, importer, options) {
    if (id === 'surewire') {
      if (!existsSync(surewire)) this.error(`${surewire} is missing: run \`npm run build\` before \`npm run build:examples\``);
      return surewire;
    }
    // Vue's runtime-only build: render functions need no template compiler (which would need 'unsafe-eval').
    if (id === 'vue') return this.resolve('vue/dist/vue.runtime.esm-bundler.js', importer, { ...options, skipSelf: true });
    return null;
  },
};

const example = (name, entry) => ({
  input: here(`${name}/src/${entry}`),
  // First, so that `surewire` is not resolved by the TypeScript plugin through `paths` to src/.
  plugins: [
    resolveAliases,
    replace({
      preventAssignment: true,
      values: {
        'process.env.NODE_ENV': JSON.stringify('production'),
        // Vue's esm-bundler feature flags: setup() + render functions only, no devtools in production.
        __VUE_OPTIONS_API__: 'false',
        __VUE_PROD_DEVTOOLS__: 'false',
        __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: 'false',
      },
    }),
    nodeResolve({ browser: true }),
    commonjs(),
    typescript({ tsconfig: here('tsconfig.json'), noEmit: false, sourceMap: true, inlineSources: true, noEmitOnError: true }),
    terser({ ecma: 2020, compress: { passes: 2 } }),
  ],
  output: { file: here(`${name}/dist/main.js`), format: 'es', sourcemap: true, generatedCode: 'es2015' },
});

export default [example('react', 'main.tsx'), example('vue', 'main.ts')];
