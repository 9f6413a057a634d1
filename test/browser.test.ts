// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { watchBrowser } from '../src/browser';

type Cause = 'online' | 'offline' | 'visible';

const setVisibility = (value: DocumentVisibilityState): void => {
  Object.defineProperty(document, 'visibilityState', { value, configurable: true });
};

const fire = (): void => {
  window.dispatchEvent(new Event('online'));
  window.dispatchEvent(new Event('offline'));
  window.dispatchEvent(new Event('pageshow'));
  document.dispatchEvent(new Event('visibilitychange'));
  document.dispatchEvent(new Event('resume'));
};

afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
  // Drop the own property so the next test sees jsdom's own getter again.
  delete (document as { visibilityState?: unknown }).visibilityState;
});

describe('watchBrowser', () => {
  it.each<[string, () => EventTarget, string, Cause]>([
    ['online on window', () => window, 'online', 'online'],
    ['offline on window', () => window, 'offline', 'offline'],
    ['pageshow on window', () => window, 'pageshow', 'visible'],
    ['visibilitychange on document', () => document, 'visibilitychange', 'visible'],
    ['resume (unfrozen) on document', () => document, 'resume', 'visible'],
  ])('wakes on %s', (_, target, type, cause) => {
    setVisibility('visible');
    const wake = vi.fn<(c: Cause) => void>();
    const stop = watchBrowser(wake);
    target().dispatchEvent(new Event(type));
    expect(wake.mock.calls).toEqual([[cause]]);
    stop();
  });

  it('wakes once per event, in order', () => {
    setVisibility('visible');
    const wake = vi.fn<(c: Cause) => void>();
    const stop = watchBrowser(wake);
    fire();
    expect(wake.mock.calls).toEqual([['online'], ['offline'], ['visible'], ['visible'], ['visible']]);
    stop();
  });

  it('does not wake when the page became hidden', () => {
    setVisibility('hidden');
    const wake = vi.fn<(c: Cause) => void>();
    const stop = watchBrowser(wake);
    document.dispatchEvent(new Event('visibilitychange'));
    window.dispatchEvent(new Event('pageshow'));
    expect(wake).not.toHaveBeenCalled();
    setVisibility('visible');
    document.dispatchEvent(new Event('visibilitychange'));
    expect(wake.mock.calls).toEqual([['visible']]);
    stop();
  });

  it('still reports the network while the page is hidden', () => {
    setVisibility('hidden');
    const wake = vi.fn<(c: Cause) => void>();
    const stop = watchBrowser(wake);
    window.dispatchEvent(new Event('offline'));
    window.dispatchEvent(new Event('online'));
    expect(wake.mock.calls).toEqual([['offline'], ['online']]);
    stop();
  });

  it('ignores events on other targets and other event types', () => {
    setVisibility('visible');
    const wake = vi.fn<(c: Cause) => void>();
    const stop = watchBrowser(wake);
    document.body.dispatchEvent(new Event('online'));
    window.dispatchEvent(new Event('focus'));
    window.dispatchEvent(new Event('visibilitychange'));
    document.dispatchEvent(new Event('pageshow'));
    expect(wake).not.toHaveBeenCalled();
    stop();
  });

  it('removes every listener it added when stopped', () => {
    setVisibility('visible');
    const added = [vi.spyOn(window, 'addEventListener'), vi.spyOn(document, 'addEventListener')];
    const removed = [vi.spyOn(window, 'removeEventListener'), vi.spyOn(document, 'removeEventListener')];
    const wake = vi.fn<(c: Cause) => void>();
    const stop = watchBrowser(wake);
    stop();
    const pairs = (spies: typeof added) => spies.flatMap((s) => s.mock.calls.map((c) => [c[0], c[1]]));
    expect(pairs(added)).toHaveLength(5);
    expect(pairs(removed)).toEqual(pairs(added));
    fire();
    expect(wake).not.toHaveBeenCalled();
  });

  it('stops only its own watcher', () => {
    setVisibility('visible');
    const first = vi.fn<(c: Cause) => void>();
    const second = vi.fn<(c: Cause) => void>();
    const stopFirst = watchBrowser(first);
    const stopSecond = watchBrowser(second);
    stopFirst();
    window.dispatchEvent(new Event('online'));
    expect(first).not.toHaveBeenCalled();
    expect(second.mock.calls).toEqual([['online']]);
    stopSecond();
  });

  it('can be stopped twice', () => {
    const wake = vi.fn<(c: Cause) => void>();
    const stop = watchBrowser(wake);
    stop();
    expect(() => stop()).not.toThrow();
    fire();
    expect(wake).not.toHaveBeenCalled();
  });

  it('does nothing and returns a stop function where there is no window, as in Node', () => {
    vi.stubGlobal('window', undefined);
    vi.stubGlobal('document', undefined);
    const wake = vi.fn<(c: Cause) => void>();
    let stop: (() => void) | undefined;
    expect(() => (stop = watchBrowser(wake))).not.toThrow();
    expect(stop).toBeTypeOf('function');
    expect(() => stop?.()).not.toThrow();
    expect(wake).not.toHaveBeenCalled();
  });

  it('adds no listener, not even on document, when there is no window', () => {
    vi.stubGlobal('window', undefined);
    const wake = vi.fn<(c: Cause) => void>();
    const stop = watchBrowser(wake);
    vi.unstubAllGlobals();
    window.dispatchEvent(new Event('online'));
    document.dispatchEvent(new Event('visibilitychange'));
    expect(wake).not.toHaveBeenCalled();
    stop();
  });

  it('watches the window alone when there is no document', () => {
    vi.stubGlobal('document', undefined);
    const wake = vi.fn<(c: Cause) => void>();
    const stop = watchBrowser(wake);
    window.dispatchEvent(new Event('pageshow'));
    window.dispatchEvent(new Event('online'));
    expect(wake.mock.calls).toEqual([['visible'], ['online']]);
    stop();
  });
});
