// Fails the browser suite at once, with the fix, when what it needs is missing.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { CHROMIUM } from './helpers/browser';
import { DIST } from './helpers/static-server';

export default function setup(): void {
  const missing = ['surewire.min.js', 'surewire.mjs'].filter((f) => !existsSync(resolve(DIST, f)));
  if (missing.length) throw new Error(`test:browser needs the build: dist/${missing.join(', dist/')} missing. Run \`npm run build\` first.`);
  if (!existsSync(CHROMIUM)) throw new Error(`test:browser needs Chromium at ${CHROMIUM} (or set CHROMIUM_PATH).`);
}
