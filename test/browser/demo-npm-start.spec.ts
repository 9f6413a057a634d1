// `npm start` for real, as the README tells a visitor to run it: it builds surewire and the React/Vue pages,
// then runs the demo server, which prints where it listens. The test spawns it on a free PORT, waits for that
// line (up to 3 minutes: the builds), fetches two pages, opens the CDN page in Chromium until it is connected,
// then stops the whole process tree and checks the port is free again.
//
// It runs in a copy of the repository made in the temp dir, without any build output (dist/, examples/*/dist/)
// and with node_modules linked: a fresh clone after `npm ci`. `npm start` deletes and rebuilds dist/, which
// must not happen under whatever else uses this tree meanwhile.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, rm, symlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium } from './helpers/browser';
import { REPO } from './helpers/static-server';
import { waitFor } from '../helpers/wait';
import { expectCleanPage, openChat, untilState } from './helpers/demo';
import { freePort } from '../helpers/ports';

const STARTUP = 180_000;

let browser: Browser;
let child: ChildProcess | undefined;
let checkout: string | undefined;

beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  // Whatever happened in the test, nothing it started stays behind.
  if (child?.pid && groupAlive(child.pid)) process.kill(-child.pid, 'SIGKILL');
  await browser?.close();
  if (checkout) await rm(checkout, { recursive: true, force: true });
});

/** Not copied: what `npm ci` and the builds make, and git's own folder. */
const SKIP = new Set(['node_modules', '.git', 'dist', join('examples', 'react', 'dist'), join('examples', 'vue', 'dist')]);

/** The repository as a fresh clone after `npm ci` would have it, in a new temp folder. */
async function freshCheckout(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'surewire-npm-start-'));
  await cp(REPO, dir, { recursive: true, filter: (src) => !SKIP.has(relative(REPO, src)) });
  await symlink(join(REPO, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

/** A port nothing listens on now (bound on every interface, as the demo server binds it, then released). */

/** Whether `port` can be listened on (on every interface, like the demo server). */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, () => s.close(() => resolve(true)));
  });
}

/** Whether any process of the group `pgid` is still alive. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

it('`npm start` builds, serves the demo on PORT, the CDN page connects in Chromium, and stopping it frees the port', async () => {
  checkout = await freshCheckout();
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port) };
  delete env.HOST;
  // Its own process group (npm, its shell, the builds, node), so that all of it can be stopped at once.
  const npm = spawn('npm', ['start'], { cwd: checkout, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  child = npm;
  let output = '';
  npm.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  npm.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  let exited: string | undefined;
  npm.once('exit', (code, signal) => (exited = `exit code ${code}, signal ${signal}`));

  const line = `surewire demo on http://localhost:${port}`;
  const started = Date.now();
  try {
    await waitFor(() => output.includes(line) || exited, STARTUP, `"${line}"`);
  } catch (e) {
    throw new Error(`npm start did not print "${line}" within ${STARTUP} ms. Its output:\n${output.slice(-3000)}`, { cause: e });
  }
  if (!output.includes(line)) throw new Error(`npm start ended (${exited}) before printing "${line}". Its output:\n${output.slice(-3000)}`);
  console.log(`[demo-npm-start] "${line}" after ${((Date.now() - started) / 1000).toFixed(1)} s`);

  // It built what it serves, from nothing.
  for (const built of ['dist/surewire.min.js', 'dist/surewire.server.mjs', 'examples/react/dist/main.js', 'examples/vue/dist/main.js'])
    expect(existsSync(join(checkout, built)), built).toBe(true);

  // The address it printed, as a visitor would open it.
  const origin = `http://localhost:${port}`;
  for (const path of ['/', '/cdn/']) {
    const res = await fetch(origin + path);
    expect(res.status, path).toBe(200);
    expect(res.headers.get('content-type'), path).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html, path).toMatch(/<title>surewire (demos|chat)/);
  }

  const ctx = await browser.newContext();
  const page = await openChat(ctx, `${origin}/cdn/`, { name: 'CDN page (npm start)', nick: 'visitor' });
  await untilState(page, 'open', 10_000);
  await expectCleanPage(page);
  await ctx.close();

  // Stop everything it started: the whole group, as Ctrl-C in its terminal would.
  const pid = npm.pid!;
  const gone = new Promise<void>((resolve) => (exited ? resolve() : npm.once('exit', () => resolve())));
  process.kill(-pid, 'SIGTERM');
  await gone;
  await waitFor(() => !groupAlive(pid), 10_000, `every process of npm start's group (${pid}) ended`);
  expect(await portIsFree(port), `port ${port} free again`).toBe(true);
  child = undefined;
}, STARTUP + 60_000);
