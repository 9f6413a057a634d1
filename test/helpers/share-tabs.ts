// Tabs of one origin inside a Node test, for `surewire/share`: Node's own BroadcastChannel (it delivers
// between the channels of one process, structured-cloned, as a browser does between tabs), a Web Locks
// manager that follows the spec's queueing, and a `document` per tab on which the test fires Page Lifecycle
// events. The real behaviour, with real tabs, is proven in Chromium (test/browser/share.spec.ts).
import { WebSocket } from 'ws';
import { Surewire } from '../../src/client';
import type { SurewireOptions } from '../../src/options';
import { shareTabs, type TabRole } from '../../src/share';

interface Request {
  name: string;
  callback: (lock: Lock) => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort?: () => void;
}

/** An exclusive-only LockManager: one holder per name, the others queued in order; `signal` aborts a queued request. */
export class FakeLocks {
  readonly #held = new Map<string, Request>();
  readonly #queue: Request[] = [];
  /** Requests made, with their options, in order. */
  readonly requests: { name: string; options: LockOptions }[] = [];

  request(name: string, options: LockOptions, callback: (lock: Lock) => unknown): Promise<unknown> {
    this.requests.push({ name, options });
    return new Promise((resolve, reject) => {
      const r: Request = { name, callback, resolve, reject, signal: options.signal };
      if (r.signal?.aborted) return reject(new DOMException('aborted', 'AbortError'));
      r.onAbort = () => {
        const i = this.#queue.indexOf(r);
        if (i >= 0) this.#queue.splice(i, 1), reject(new DOMException('aborted', 'AbortError'));
      };
      r.signal?.addEventListener('abort', r.onAbort);
      this.#queue.push(r);
      this.#grant(name);
    });
  }

  query(): Promise<LockManagerSnapshot> {
    const info = (r: Request): LockInfo => ({ name: r.name, mode: 'exclusive', clientId: '' });
    return Promise.resolve({ held: [...this.#held.values()].map(info), pending: this.#queue.map(info) });
  }

  #grant(name: string): void {
    if (this.#held.has(name)) return;
    const i = this.#queue.findIndex((r) => r.name == name);
    if (i < 0) return;
    const r = this.#queue.splice(i, 1)[0]!;
    r.signal?.removeEventListener('abort', r.onAbort!);
    this.#held.set(name, r);
    const done = (settle: (v: unknown) => void) => (v: unknown) => {
      this.#held.delete(name);
      settle(v);
      this.#grant(name);
    };
    // The callback runs in a later task, as the browser's lock manager answers over IPC.
    setImmediate(() => Promise.resolve(r.callback({ name, mode: 'exclusive' })).then(done(r.resolve), done(r.reject)));
  }
}

/** The client as every tab gets it; `timeout(ms)` is the client's per-call timeout form. */
export type Shared = Surewire & { timeout(ms: number): Pick<Surewire, 'request'> };

/** One tab: its `window` and `document` (for Page Lifecycle events), the roles it was told, and its client. */
export interface Tab {
  window: EventTarget;
  document: EventTarget;
  roles: TabRole[];
  readonly role: TabRole | undefined;
  client: Shared;
  /** Fires a Page Lifecycle event: `freeze` and `resume` on the tab's document, `pagehide` on its window. */
  fire(type: string): void;
}

type Global = { navigator?: unknown; document?: unknown; addEventListener?: unknown };

/**
 * Installs the fake lock manager as `navigator.locks` (Node 20 has no `navigator`) and returns a tab maker.
 * `restore()` puts `navigator` and `document` back as they were.
 */
export function origin(): { locks: FakeLocks; tab: (url: string, options?: SurewireOptions, name?: string) => Tab; restore: () => void } {
  const g = globalThis as Global;
  const saved = {
    navigator: Object.getOwnPropertyDescriptor(g, 'navigator'),
    document: Object.getOwnPropertyDescriptor(g, 'document'),
    addEventListener: Object.getOwnPropertyDescriptor(g, 'addEventListener'),
  };
  const locks = new FakeLocks();
  Object.defineProperty(g, 'navigator', { value: { locks }, configurable: true, writable: true });
  return {
    locks,
    tab(url, options = {}, name = 'test') {
      const window = new EventTarget();
      const document = new EventTarget();
      const roles: TabRole[] = [];
      // The client takes the tab's document and window when it is made, as a page's script would.
      Object.defineProperty(g, 'document', { value: document, configurable: true, writable: true });
      Object.defineProperty(g, 'addEventListener', { value: window.addEventListener.bind(window), configurable: true, writable: true });
      const client = new Surewire(url, { WebSocket: WebSocket as never, ...options, share: shareTabs(name, { onRole: (r) => roles.push(r) }) }) as Shared;
      delete g.document;
      delete g.addEventListener;
      return {
        window,
        document,
        roles,
        get role() {
          return roles[roles.length - 1];
        },
        client,
        fire: (type) => void (type == 'pagehide' ? window : document).dispatchEvent(new Event(type)),
      };
    },
    restore() {
      for (const [k, d] of Object.entries(saved)) {
        if (d) Object.defineProperty(g, k, d);
        else delete g[k as keyof Global];
      }
    },
  };
}
