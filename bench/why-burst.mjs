#!/usr/bin/env node
// Where a burst's time goes: `node bench/why-burst.mjs [--n 100000] [ids…]` (after `npm run build`).
// For each contender (default: surewire, surewire-reliable, socket.io-client, surewire-io), one burst of n
// sends in one synchronous loop on an open connection, under the page's CDP profiler (unminified bundles, so
// functions keep their names) and the servers' process's at once; prints the rate, the time per message by
// category (lib/profile.mjs) and the top functions on both sides. Not run by `npm run bench`.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { ROOT } from './size.mjs';
import { buildBundles } from './lib/contenders.mjs';
import { spawnServers } from './lib/spawn.mjs';
import { CdpPage, debuggingPort } from './lib/cdp.mjs';
import { analyse, serverCategory } from './lib/profile.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const ni = argv.indexOf('--n');
const n = ni >= 0 ? Number(argv.splice(ni, 2)[1]) : 100_000;
const ids = argv.length ? argv : ['surewire', 'surewire-reliable', 'socket.io-client', 'surewire-io'];

const dev = await buildBundles({ minify: false });
const servers = await spawnServers({
  pageDir: resolve(HERE, 'page'),
  bundles: [...dev].map(([id, b]) => [`/d/${id}.js`, b.code]),
  serverModule: resolve(ROOT, 'dist/surewire.server.mjs'),
});
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--enable-automation', '--remote-debugging-address=127.0.0.1', '--remote-debugging-port=0'],
});
const us = (x) => x.toFixed(2).padStart(6);
try {
  const page = await CdpPage.open(await debuggingPort(browser), `${servers.origin}/?dev`);
  await page.eval('new Promise((ok) => { const t = () => (window.bench ? ok() : setTimeout(t, 10)); t(); })');
  await page.call('load', ids);
  const cdp = page.session;
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 50 });
  for (const id of ids) {
    const h = await page.call('connOpen', id, servers.urls);
    await page.call('burst', h, { n: Math.min(n, 20_000), timeout: 120_000 }); // warm-up
    await servers.profileStart();
    await cdp.send('Profiler.start');
    const res = await page.call('burst', h, { n, timeout: 120_000 });
    const { profile } = await cdp.send('Profiler.stop');
    const sp = await servers.profileStop();
    await page.call('connClose', h);
    const p = analyse(profile, n);
    const s = analyse(sp, n, serverCategory, ['surewire/server', 'ws / socket.io', 'bench', 'node', 'native', 'gc', 'program', 'idle']);
    console.log(`\n## ${id}: ${Math.round((n / res.ms) * 1000).toLocaleString('en-US')} msg/s (loop ${res.sendMs.toFixed(0)} ms of ${res.ms.toFixed(0)} ms)`);
    console.log(`page µs/msg: ${Object.entries(p.perMessage).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}`);
    for (const f of p.top.slice(0, 10)) console.log(`  page ${us(f.usPerMessage)} µs ${(f.share * 100).toFixed(1).padStart(5)} %  ${f.name} ${f.file}:${f.line ?? ''}`);
    console.log(`server µs/msg: ${Object.entries(s.perMessage).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}`);
    for (const f of s.top.slice(0, 8)) console.log(`  server ${us(f.usPerMessage)} µs ${(f.share * 100).toFixed(1).padStart(5)} %  ${f.name} ${f.file}:${f.line ?? ''}`);
  }
  await page.close();
} finally {
  await browser.close();
  await servers.close();
}
