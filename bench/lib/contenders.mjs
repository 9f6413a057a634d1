// The contenders: what each one's browser bundle contains, built the same way for all (bench/size.mjs's
// bundleEntry: rollup + node-resolve (browser) + commonjs, every dependency inlined, terser with the
// options of the CDN build). The same minified bundle is loaded by the page and measured for size.
// The page-side code that drives each one is in bench/page/adapters.js, under the same id.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { bundleEntry, sizeOf, ROOT } from '../size.mjs';

const dist = (f) => resolve(ROOT, 'dist', f);
const version = (pkg) => JSON.parse(readFileSync(resolve(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')).version;
const surewireVersion = () => JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')).version;

export const CONTENDERS = [
  {
    id: 'raw',
    label: 'raw WebSocket',
    note: 'native WebSocket + JSON.stringify([event, ...args]) / JSON.parse, reconnect by hand (setTimeout 1 ms)',
    entry: null,
    packages: [],
  },
  {
    id: 'surewire',
    label: 'surewire',
    note: "import { Surewire } from 'surewire' (native WebSocket transport)",
    entry: "export { Surewire } from 'surewire';",
    packages: ['surewire'],
  },
  {
    id: 'surewire-reliable',
    label: 'surewire, reliable',
    note: "import { Surewire, reliable } from 'surewire'; server: reliable() from surewire/server on ws",
    entry: "export { Surewire, reliable } from 'surewire';",
    packages: ['surewire'],
  },
  {
    id: 'surewire-io',
    label: 'surewire over socket.io',
    note: "Surewire + socketIo from 'surewire/socket.io' + socket.io-client's io (transports: ['websocket'])",
    entry: "export { Surewire } from 'surewire'; export { socketIo } from 'surewire/socket.io'; export { io } from 'socket.io-client';",
    packages: ['surewire', 'socket.io-client'],
  },
  {
    id: 'socket.io-client',
    label: 'socket.io-client',
    note: "import { io } from 'socket.io-client' (transports: ['websocket'])",
    entry: "export { io } from 'socket.io-client';",
    packages: ['socket.io-client'],
  },
  {
    id: 'reconnecting-websocket',
    label: 'reconnecting-websocket',
    note: "import ReconnectingWebSocket from 'reconnecting-websocket'; JSON by the app",
    entry: "export { default } from 'reconnecting-websocket';",
    packages: ['reconnecting-websocket'],
  },
  {
    id: 'partysocket',
    label: 'partysocket',
    note: "import PartySocket from 'partysocket' (basePath option, any ws server); JSON by the app",
    entry: "export { default } from 'partysocket';",
    packages: ['partysocket'],
  },
];

const ALIAS = { surewire: dist('surewire.mjs'), 'surewire/socket.io': dist('surewire.socket.io.mjs') };

/**
 * Builds every contender's bundle. `minify: false` gives readable function names (for CPU profiles).
 * Returns Map id -> { code, min, gzip, brotli } (raw: an empty bundle).
 */
export async function buildBundles({ minify = true } = {}) {
  const out = new Map();
  for (const c of CONTENDERS) {
    if (!c.entry) {
      out.set(c.id, { code: 'export {};', min: 0, gzip: 0, brotli: 0 });
      continue;
    }
    const { code } = await bundleEntry({ entry: c.entry, alias: ALIAS, minify });
    out.set(c.id, { code, ...(minify ? sizeOf(code) : {}) });
  }
  return out;
}

/** name@version of every package the bench measures or uses. */
export function packageVersions() {
  return {
    surewire: `${surewireVersion()} (this repo's dist/)`,
    'socket.io-client': version('socket.io-client'),
    'reconnecting-websocket': version('reconnecting-websocket'),
    partysocket: version('partysocket'),
    'socket.io (server)': version('socket.io'),
    'ws (server)': version('ws'),
    'playwright-core': version('playwright-core'),
    rollup: version('rollup'),
    terser: version('terser'),
  };
}
