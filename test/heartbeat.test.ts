import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Frame } from '../src/codec';
import { heartbeat, heartbeatDefaults, type HeartbeatOptions } from '../src/heartbeat';

const PING = '["ping"]';
const PONG = '["pong"]';

function make(o: HeartbeatOptions = {}) {
  const sent: Frame[] = [];
  const dead = vi.fn();
  const rtt = vi.fn<(ms: number) => void>();
  const [check, seen, stop] = heartbeat({ ...heartbeatDefaults, ...o }, (f) => sent.push(f), dead, rtt);
  // `start` is what the client does around an open: stop (when the attempt begins), then check (at the open).
  const hb = { check, seen, stop, start: () => (stop(), check()) };
  return { hb, sent, dead, rtt };
}

/** A heartbeat that has seen its server answer once, so silence after a ping now counts as death. */
function answered(o: HeartbeatOptions = {}) {
  const m = make(o);
  m.hb.start();
  m.hb.seen(PONG);
  m.sent.length = 0;
  m.rtt.mockClear();
  return m;
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date('2030-01-01T00:00:00Z'));
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Heartbeat: the defaults', () => {
  it('pings with ["ping"], valid JSON in the default codec format, so a JSON server never throws on it', () => {
    const { hb, sent } = make();
    hb.start();
    expect(sent).toEqual([PING]);
    expect(() => JSON.parse(sent[0] as string)).not.toThrow();
  });

  it('recognises ["pong"] as the answer, and nothing else (a chat line "pong" of a bare-text server is not one)', () => {
    const { hb, rtt } = make();
    hb.start();
    expect(hb.seen(PONG)).toBe(true);
    expect(rtt).toHaveBeenCalledTimes(1);
    hb.start();
    expect(hb.seen('pong')).toBe(false);
    expect(hb.seen('["message","pong"]')).toBe(false);
    expect(hb.seen('PONG')).toBe(false);
    expect(rtt).toHaveBeenCalledTimes(1);
  });

  it('pings every 25 s and, once answered, waits 10 s for a sign of life', () => {
    const { sent, dead } = answered();
    vi.advanceTimersByTime(24_999);
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(sent).toEqual([PING]);
    vi.advanceTimersByTime(9_999);
    expect(dead).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(dead).toHaveBeenCalledTimes(1);
  });
});

describe('Heartbeat: the first ping', () => {
  it('goes out at start, so the round trip is known at once, then every interval', () => {
    const { hb, sent, rtt } = make({ interval: 1000 });
    hb.start();
    expect(sent).toEqual([PING]);
    vi.advanceTimersByTime(30);
    hb.seen(PONG);
    expect(rtt).toHaveBeenCalledWith(30);
    vi.advanceTimersByTime(969);
    expect(sent).toEqual([PING]);
    vi.advanceTimersByTime(1);
    expect(sent).toEqual([PING, PING]);
  });
});

describe('Heartbeat: a server that never answers', () => {
  it('is never declared dead, however long it stays silent: no reconnect loop', () => {
    const { hb, sent, dead } = make({ interval: 1000, timeout: 500 });
    hb.start();
    vi.advanceTimersByTime(60_000);
    expect(sent.length).toBe(61);
    expect(dead).not.toHaveBeenCalled();
  });

  it('is declared dead after it answered once and then falls silent (a half-open connection)', () => {
    const { hb, dead } = make({ interval: 1000, timeout: 500 });
    hb.start();
    vi.advanceTimersByTime(10);
    hb.seen(PONG);
    vi.advanceTimersByTime(990 + 499);
    expect(dead).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(dead).toHaveBeenCalledTimes(1);
  });

  it('keeps the rule across connections: answered once, enforced from the next start on', () => {
    const { hb, dead } = answered({ interval: 1000, timeout: 500 });
    hb.stop();
    hb.start();
    vi.advanceTimersByTime(499);
    expect(dead).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(dead).toHaveBeenCalledTimes(1);
  });
});

describe('Heartbeat: an echo server', () => {
  it('swallows the ping coming back, which is life but not an answer', () => {
    const { hb, dead, rtt } = make({ interval: 1000, timeout: 500 });
    hb.start();
    expect(hb.seen(PING)).toBe(true);
    expect(rtt).not.toHaveBeenCalled();
    // Never answered: still not enforced, whatever the echo does.
    vi.advanceTimersByTime(10_000);
    expect(dead).not.toHaveBeenCalled();
  });

  it('swallows the echo of a ping made by a function', () => {
    let n = 0;
    const { hb, sent } = make({ ping: () => `ping ${++n}` });
    hb.start();
    expect(hb.seen(sent[0] as string)).toBe(true);
    expect(hb.seen('ping 7')).toBe(false);
  });
});

describe('Heartbeat: once answered', () => {
  it('keeps pinging while frames come back within the timeout', () => {
    const { hb, sent, dead } = answered({ interval: 1000, timeout: 500 });
    for (let i = 0; i < 4; i++) {
      vi.advanceTimersByTime(200);
      hb.seen('["message","hi"]');
      vi.advanceTimersByTime(800);
    }
    expect(sent.length).toBe(4);
    expect(dead).not.toHaveBeenCalled();
  });

  it('counts any frame as life, but returns false for one that is not a pong', () => {
    const { hb, dead } = answered({ interval: 1000, timeout: 500 });
    vi.advanceTimersByTime(1000);
    expect(hb.seen('["message","hi"]')).toBe(false);
    vi.advanceTimersByTime(600);
    expect(dead).not.toHaveBeenCalled();
  });

  it('still times out after a frame that arrived before the ping', () => {
    const { hb, dead } = answered({ interval: 1000, timeout: 500 });
    vi.advanceTimersByTime(999);
    hb.seen('["message","hi"]');
    vi.advanceTimersByTime(1 + 500);
    expect(dead).toHaveBeenCalledTimes(1);
  });

  it('calls dead once, and stops pinging', () => {
    const { hb, sent, dead } = answered({ interval: 1000, timeout: 500 });
    vi.advanceTimersByTime(1500);
    vi.advanceTimersByTime(10_000);
    expect(dead).toHaveBeenCalledTimes(1);
    expect(sent.length).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
    hb.stop();
  });

  it('does not extend the timeout with a second ping before an answer', () => {
    const { hb, dead } = answered({ interval: 1000, timeout: 500 });
    vi.advanceTimersByTime(1000);
    vi.advanceTimersByTime(300);
    hb.check();
    vi.advanceTimersByTime(200);
    expect(dead).toHaveBeenCalledTimes(1);
  });
});

describe('Heartbeat: round trips', () => {
  it('does not report a round trip for a pong that came without a ping', () => {
    const { hb, rtt } = answered();
    hb.seen(PONG);
    expect(rtt).not.toHaveBeenCalled();
  });

  it('measures the round trip from the latest ping', () => {
    const { hb, rtt } = answered({ interval: 1000, timeout: 5000 });
    vi.advanceTimersByTime(1000);
    vi.advanceTimersByTime(100);
    hb.check();
    vi.advanceTimersByTime(40);
    hb.seen(PONG);
    expect(rtt).toHaveBeenCalledWith(40);
  });

  it('recognises a pong given as a string, or by a predicate', () => {
    const a = make({ pong: 'PONG!' });
    a.hb.start();
    expect(a.hb.seen('PONG!')).toBe(true);
    expect(a.hb.seen(PONG)).toBe(false);
    const b = make({ pong: (f) => typeof f == 'string' && f.startsWith('{"t":"pong"') });
    b.hb.start();
    expect(b.hb.seen('{"t":"pong","at":1}')).toBe(true);
    expect(b.hb.seen(PONG)).toBe(false);
  });
});

describe('Heartbeat: check, stop and start', () => {
  it('pings at once on check and then every interval from there', () => {
    const { hb, sent } = answered({ interval: 1000, timeout: 5000 });
    vi.advanceTimersByTime(400);
    hb.check();
    expect(sent.length).toBe(1);
    vi.advanceTimersByTime(999);
    expect(sent.length).toBe(1);
    vi.advanceTimersByTime(1);
    expect(sent.length).toBe(2);
  });

  it('calls dead when nothing answers a check', () => {
    const { hb, dead } = answered({ interval: 10_000, timeout: 500 });
    hb.check();
    vi.advanceTimersByTime(500);
    expect(dead).toHaveBeenCalledTimes(1);
  });

  it('leaves no timers after stop', () => {
    const { hb } = answered({ interval: 1000, timeout: 500 });
    vi.advanceTimersByTime(1000);
    expect(vi.getTimerCount()).toBe(2);
    hb.stop();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('keeps one ping timer when started twice', () => {
    const { hb, sent } = make({ interval: 1000 });
    hb.start();
    hb.start();
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(1000);
    expect(sent.length).toBe(3);
  });

  it('calls a ping function for every ping and sends what it returns', () => {
    let n = 0;
    const { hb, sent } = make({ interval: 1000, ping: () => `ping ${++n}` });
    hb.start();
    vi.advanceTimersByTime(2000);
    expect(sent).toEqual(['ping 1', 'ping 2', 'ping 3']);
  });

  it('sends a binary ping as is', () => {
    const bin = new Uint8Array([9]);
    const { hb, sent } = make({ ping: bin });
    hb.start();
    expect(sent[0]).toBe(bin);
  });
});
