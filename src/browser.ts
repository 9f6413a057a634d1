/**
 * Listens for the moments a browser says "look again": the network came back (`online`), went away
 * (`offline`), the page became visible, came back from the back/forward cache (`pageshow`), or was
 * unfrozen after its timers were stopped (`resume`, from the Page Lifecycle API).
 * Touches `window` and `document` only when called, so importing surewire is safe in SSR and Node.
 * Returns a function that removes every listener.
 */
export function watchBrowser(wake: (cause: 'online' | 'offline' | 'visible') => void): () => void {
  const w = globalThis.window;
  const d = globalThis.document;
  if (!w?.addEventListener) return () => {};
  const on = (e: Event): void => {
    const t = e.type;
    if (t == 'offline' || t == 'online') wake(t);
    // A first load fires pageshow too: only a page restored from the back/forward cache needs a look.
    else if (d?.visibilityState != 'hidden' && (e as PageTransitionEvent).persisted !== false) wake('visible');
  };
  const targets: [EventTarget | undefined, string][] = [
    [w, 'online'],
    [w, 'offline'],
    [w, 'pageshow'],
    [d, 'visibilitychange'],
    [d, 'resume'],
  ];
  targets.forEach(([t, type]) => t?.addEventListener(type, on));
  return () => targets.forEach(([t, type]) => t?.removeEventListener(type, on));
}
