// Some tests load the built library (the example pages, the example server's /dist): build it once
// when it is missing, so `npm test` on a fresh clone runs every test instead of skipping any.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const needed = ['surewire.min.js', 'surewire.mjs', 'surewire.server.mjs', 'surewire.socket.io.min.js'];

export default function setup(): void {
  if (needed.every((f) => existsSync(`${root}dist/${f}`))) return;
  console.log('test: dist/ is missing or incomplete, building it first (npm run build)');
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
}
