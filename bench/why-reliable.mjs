#!/usr/bin/env node
// Why does reliable delivery cost throughput? An A/B experiment behind RESULTS.md's notes, not part of
// `npm run bench`: plain surewire against reliable surewire, and reliable surewire with one setting changed
// at a time, measured like the bench's throughput (one connection each, blocks of 10,000 messages taking
// turns in a rotated order, CPU of the browser and of the servers' process per message).
//
//   node bench/why-reliable.mjs [--blocks N]      (after `npm run build`; ~1–2 min)
//
// Variants:
//   plain          surewire on the plain echo server (the reference)
//   reliable       reliable() with its defaults, on surewire/server with its defaults (what the bench measures)
//   ackDelay 1     the server acknowledges after 1 ms instead of 5
//   window 500     the client keeps up to 500 messages unacknowledged instead of 900 (the default until
//                  surewire/server stopped making promises per message: then the deeper window won)
//   cork           the server's socket stays corked from the first send of a tick to the next setImmediate
//                  (done here from the outside; surewire/server itself corks it only until process.nextTick)
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { ROOT } from './size.mjs';
import { buildBundles } from './lib/contenders.mjs';
import { spawnServers } from './lib/spawn.mjs';
import { CdpPage, debuggingPort } from './lib/cdp.mjs';
import { cpuMeter } from './lib/cpu.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const blocks = Number(argv[argv.indexOf('--blocks') + 1]) || 12;
const N = 10_000;

const bundles = await buildBundles();
const servers = await spawnServers({
  pageDir: resolve(HERE, 'page'),
  bundles: [...bundles].map(([id, b]) => [`/b/${id}.js`, b.code]),
  serverModule: resolve(ROOT, 'dist/surewire.server.mjs'),
});
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--enable-automation', '--remote-debugging-address=127.0.0.1', '--remote-debugging-port=0'],
});
try {
  const extra = await servers.variants([
    { name: 'ackDelay 1', ackDelay: 1 },
    { name: 'cork', cork: true },
  ]);
  const u = servers.urls;
  const variants = {
    plain: ['surewire', u],
    reliable: ['surewire-reliable', u],
    'ackDelay 1': ['surewire-reliable', { ...u, reliable: extra['ackDelay 1'] }],
    'window 500': ['surewire-reliable', { ...u, reliableOptions: { window: 500 } }],
    cork: ['surewire-reliable', { ...u, reliable: extra.cork }],
  };
  const page = await CdpPage.open(await debuggingPort(browser), `${servers.origin}/`);
  await page.eval('new Promise((ok) => { const t = () => (window.bench ? ok() : setTimeout(t, 10)); t(); })');
  await page.call('load', ['surewire', 'surewire-reliable']);
  const names = Object.keys(variants);
  const h = {};
  const acc = {};
  for (const name of names) {
    h[name] = await page.call('connOpen', ...variants[name]);
    await page.call('tpBlock', h[name], { n: 5000, win: 1000, timeout: 60_000 });
    acc[name] = { n: 0, ms: 0, server: 0, browser: 0 };
  }
  for (let b = 0; b < blocks; b++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + b) % names.length];
      const meter = await cpuMeter(servers);
      const res = await page.call('tpBlock', h[name], { n: N, win: 1000, timeout: 60_000 });
      const cpu = await meter.stop();
      const a = acc[name];
      a.n += res.n;
      a.ms += res.ms;
      a.server += cpu.server;
      a.browser += cpu.browser ?? NaN;
    }
    process.stdout.write(`\rblock ${b + 1}/${blocks}`);
  }
  const rate = (a) => (a.n / a.ms) * 1000;
  console.log(`\n\n${blocks} blocks of ${N.toLocaleString('en-US')} messages per variant, taking turns:\n`);
  console.log('| variant | messages/s | × plain | server CPU µs/msg | browser CPU µs/msg |\n|:---|---:|---:|---:|---:|');
  for (const name of names) {
    const a = acc[name];
    console.log(`| ${name} | ${Math.round(rate(a)).toLocaleString('en-US')} | ${(rate(a) / rate(acc.plain)).toFixed(3)} | ${(a.server / a.n).toFixed(1)} | ${(a.browser / a.n).toFixed(1)} |`);
  }
  await page.close();
} finally {
  await browser.close();
  await servers.close();
}
