// Build for surewire. Every file carries the `/*! surewire vX.Y.Z | MIT */` banner and a source map.
//   dist/surewire.mjs / .cjs                  `surewire`: the client, codecs, errors (no runtime dependency)
//   dist/surewire.socket.io.mjs / .cjs        `surewire/socket.io`: the transport (socket.io-client stays the app's)
//   dist/surewire.server.mjs / .cjs           `surewire/server`: the reliable-delivery protocol for ws and socket.io servers (Node)
//   dist/surewire.server.redis.mjs / .cjs     `surewire/server/redis`: the Redis store (the app passes its ioredis client)
//   dist/surewire{,.socket.io,.server}.d.ts / .d.cts                     bundled declarations
//   dist/surewire.umd.js, dist/surewire.min.js                  browser global `Surewire` (src/umd.ts)
//   dist/surewire.socket.io.min.js            the same plus the transport and socket.io-client, inlined
//   dist/surewire.share.mjs / .cjs / .d.ts    `surewire/share`: one connection for every tab (imports `surewire`)
//   dist/surewire.share.min.js                its CDN file: adds `shareTabs` to the global `Surewire`
import { readFileSync } from 'node:fs';
import typescript from '@rollup/plugin-typescript';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import commonjs from '@rollup/plugin-commonjs';
import terser from '@rollup/plugin-terser';
import { dts } from 'rollup-plugin-dts';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
const banner = `/*! surewire v${pkg.version} | MIT */`;

// Dependencies and peers stay external in the ESM/CJS builds: the app installs them. So do Node's own
// modules (the server entry's types name node:http).
const deps = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})];
const external = (id) => id.startsWith('node:') || deps.some((dep) => id === dep || id.startsWith(`${dep}/`));

// TS target ES2022 keeps class fields native (see tsconfig.build.json).
const ts = () => typescript({ tsconfig: './tsconfig.build.json', noEmitOnError: true });

const generatedCode = 'es2015';
const min = terser({ ecma: 2020, compress: { passes: 2 }, mangle: true, format: { comments: /^!/ } });

// engine.io-client finds the global object with `Function("return this")()` when `self` and `window` are
// both missing, which never happens in a browser; the CDN build must run under `script-src 'self'`
// without 'unsafe-eval', so that fallback becomes `globalThis`.
const noFunctionConstructor = {
  name: 'no-function-constructor',
  transform(code, id) {
    if (!id.includes('engine.io-client') || !code.includes('Function("return this")()')) return null;
    return { code: code.replaceAll('Function("return this")()', 'globalThis'), map: null };
  },
};

// `surewire/share` takes the core's classes from `surewire` itself, never a copy of them: an error it
// rejects with must be `instanceof` the app's `ClosedError`.
const core = {
  name: 'surewire-core',
  resolveId: (source, importer) => (source == './index' && importer?.endsWith('share.ts') ? { id: 'surewire', external: true } : null),
};

const lib = (input, name, plugins = []) => ({
  input,
  external,
  plugins: [...plugins, ts()],
  output: [
    { file: `dist/${name}.mjs`, format: 'es', banner, sourcemap: true, generatedCode },
    { file: `dist/${name}.cjs`, format: 'cjs', exports: 'named', banner, sourcemap: true, generatedCode },
  ],
});

const types = (input, name, plugins = []) => ({
  input,
  external,
  plugins: [...plugins, dts({ tsconfig: './tsconfig.build.json' })],
  output: [
    { file: `dist/${name}.d.ts`, format: 'es' },
    { file: `dist/${name}.d.cts`, format: 'es' },
  ],
});

const umd = (file, plugins = []) => ({
  file,
  format: 'umd',
  name: 'Surewire',
  exports: 'default',
  banner,
  sourcemap: true,
  generatedCode,
  plugins,
});

export default [
  lib('src/index.ts', 'surewire'),
  lib('src/socket.io.ts', 'surewire.socket.io'),
  lib('src/server/index.ts', 'surewire.server'),
  lib('src/share.ts', 'surewire.share', [core]),
  lib('src/server/redis.ts', 'surewire.server.redis'),
  {
    input: 'src/umd.ts',
    plugins: [ts()],
    output: [umd('dist/surewire.umd.js'), umd('dist/surewire.min.js', [min])],
  },
  {
    input: 'src/umd-socket.io.ts',
    plugins: [noFunctionConstructor, nodeResolve({ browser: true }), commonjs(), ts()],
    output: [umd('dist/surewire.socket.io.min.js', [min])],
  },
  types('src/index.ts', 'surewire'),
  types('src/socket.io.ts', 'surewire.socket.io'),
  types('src/server/index.ts', 'surewire.server'),
  types('src/share.ts', 'surewire.share', [core]),
  {
    input: 'src/share.ts',
    plugins: [core, ts()],
    output: { ...umd('dist/surewire.share.min.js', [min]), exports: 'named', extend: true, globals: { surewire: 'Surewire' } },
  },
  types('src/server/redis.ts', 'surewire.server.redis'),
];
