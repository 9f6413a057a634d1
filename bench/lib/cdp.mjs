// A minimal Chrome DevTools Protocol client over the browser's remote-debugging WebSocket.
//
// Why not Playwright's page: Playwright enables the Network domain on every page it drives, so Chromium
// reports every WebSocket frame to it (Network.webSocketFrameSent/Received), which costs far more than the
// libraries under test (hundreds of µs per frame here, in the browser and in this Node process). The bench
// launches Chromium with playwright-core, but opens its pages through this client, which enables nothing
// it does not need: no Network, no Page events, only Runtime.evaluate, HeapProfiler and Profiler calls.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import WebSocket from 'ws';

export class CdpSession {
  #ws;
  #id = 0;
  #pending = new Map();
  #listeners = new Map();

  static async connect(url) {
    const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 1 << 30 });
    await new Promise((ok, fail) => (ws.once('open', ok), ws.once('error', fail)));
    return new CdpSession(ws);
  }

  constructor(ws) {
    this.#ws = ws;
    ws.on('message', (data) => {
      const m = JSON.parse(data);
      if (m.id != null) {
        const p = this.#pending.get(m.id);
        this.#pending.delete(m.id);
        if (!p) return;
        if (m.error) p.reject(new Error(`${p.method}: ${m.error.message}${m.error.data ? ` (${m.error.data})` : ''}`));
        else p.resolve(m.result);
      } else if (m.method) {
        for (const fn of this.#listeners.get(m.method) ?? []) fn(m.params);
      }
    });
    ws.on('close', () => {
      for (const p of this.#pending.values()) p.reject(new Error(`${p.method}: the CDP connection closed`));
      this.#pending.clear();
    });
  }

  send(method, params = {}) {
    const id = ++this.#id;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, method });
      this.#ws.send(JSON.stringify({ id, method, params }));
    });
  }

  on(method, fn) {
    this.#listeners.set(method, [...(this.#listeners.get(method) ?? []), fn]);
  }

  close() {
    this.#ws.close();
  }
}

/**
 * The remote-debugging endpoint of a browser that playwright-core launched with
 * `--enable-automation --remote-debugging-address=127.0.0.1 --remote-debugging-port=0`: Chromium writes the
 * port it chose into DevToolsActivePort, in the profile directory that its command line names.
 */
export async function debuggingPort(browser) {
  const cdp = await browser.newBrowserCDPSession();
  const { arguments: argv } = await cdp.send('Browser.getBrowserCommandLine');
  await cdp.detach();
  const dir = argv.find((a) => a.startsWith('--user-data-dir='))?.slice('--user-data-dir='.length);
  if (!dir) throw new Error('bench: the browser was launched without --user-data-dir');
  const file = join(dir, 'DevToolsActivePort');
  for (const started = Date.now(); ; ) {
    const text = await readFile(file, 'utf8').catch(() => '');
    if (text.includes('\n')) return Number(text.split('\n')[0]);
    if (Date.now() - started > 10_000) throw new Error(`bench: no ${file} within 10 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A page target of its own (a new tab), driven through CdpSession. */
export class CdpPage {
  static async open(port, url) {
    const res = await fetch(`http://127.0.0.1:${port}/json/new?${encodeURIComponent('about:blank')}`, { method: 'PUT' });
    if (!res.ok) throw new Error(`bench: /json/new: HTTP ${res.status}`);
    const target = await res.json();
    const session = await CdpSession.connect(target.webSocketDebuggerUrl);
    const page = new CdpPage(port, target.id, session);
    page.errors = [];
    session.on('Runtime.exceptionThrown', (e) => page.errors.push(e.exceptionDetails?.exception?.description ?? e.exceptionDetails?.text));
    session.on('Runtime.consoleAPICalled', (e) => {
      if (e.type == 'error') page.errors.push(`console.error: ${e.args.map((a) => a.value ?? a.description).join(' ')}`);
    });
    await session.send('Runtime.enable');
    await session.send('Page.enable');
    const loaded = new Promise((r) => session.on('Page.loadEventFired', r));
    await session.send('Page.navigate', { url });
    await loaded;
    await session.send('Page.disable');
    return page;
  }

  constructor(port, id, session) {
    this.port = port;
    this.id = id;
    this.session = session;
  }

  /** Evaluates `expression` in the page, awaiting a promise, and returns its value (JSON). */
  async eval(expression) {
    const r = await this.session.send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true });
    if (r.exceptionDetails) throw new Error(`in the page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
    return r.result.value;
  }

  /** Calls `window.bench[fn](...args)` in the page. */
  call(fn, ...args) {
    return this.eval(`window.bench.${fn}(...${JSON.stringify(args)})`);
  }

  async close() {
    this.session.close();
    await fetch(`http://127.0.0.1:${this.port}/json/close/${this.id}`).catch(() => {});
  }
}
