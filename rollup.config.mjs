// Build for surewire.
//   dist/surewire.mjs / .cjs   library (src/index.ts), eventemitter3 external
//   dist/surewire.umd.js       browser global `Surewire` (src/umd.ts), eventemitter3 inlined
//   dist/surewire.min.js       same as the UMD build, minified
//   dist/surewire.d.ts / .d.cts bundled declarations (identical)
import { readFileSync } from 'node:fs';
import typescript from '@rollup/plugin-typescript';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import commonjs from '@rollup/plugin-commonjs';
import terser from '@rollup/plugin-terser';
import { dts } from 'rollup-plugin-dts';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
const banner = `/*! surewire v${pkg.version} | MIT */`;

// Runtime dependencies stay external in the ESM/CJS builds (consumers install them).
const deps = Object.keys(pkg.dependencies ?? {});
const external = (id) => deps.some((dep) => id === dep || id.startsWith(`${dep}/`));

// TS target ES2022 keeps `#private` fields and class fields native (see tsconfig.build.json).
const ts = () =>
  typescript({
    tsconfig: './tsconfig.build.json',
    noEmitOnError: true,
  });

const generatedCode = 'es2015';

export default [
  {
    input: 'src/index.ts',
    external,
    plugins: [ts()],
    output: [
      { file: 'dist/surewire.mjs', format: 'es', banner, sourcemap: true, generatedCode },
      {
        file: 'dist/surewire.cjs',
        format: 'cjs',
        exports: 'named',
        banner,
        sourcemap: true,
        generatedCode,
      },
    ],
  },
  {
    input: 'src/umd.ts',
    plugins: [
      // eventemitter3's ESM entry (index.mjs) re-exports its CommonJS index.js,
      // so inlining it needs the commonjs plugin as well as node-resolve.
      nodeResolve({ browser: true }),
      commonjs(),
      ts(),
    ],
    output: [
      {
        file: 'dist/surewire.umd.js',
        format: 'umd',
        name: 'Surewire',
        exports: 'default',
        banner,
        sourcemap: true,
        generatedCode,
      },
      {
        file: 'dist/surewire.min.js',
        format: 'umd',
        name: 'Surewire',
        exports: 'default',
        banner,
        sourcemap: true,
        generatedCode,
        plugins: [
          terser({
            ecma: 2020,
            compress: { passes: 2 },
            mangle: true,
            format: { comments: /^!/ },
          }),
        ],
      },
    ],
  },
  {
    input: 'src/index.ts',
    external,
    plugins: [dts({ tsconfig: './tsconfig.build.json' })],
    output: [
      { file: 'dist/surewire.d.ts', format: 'es' },
      { file: 'dist/surewire.d.cts', format: 'es' },
    ],
  },
];
