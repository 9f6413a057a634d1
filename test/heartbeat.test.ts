import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Frame } from '../src/codec';
import { heartbeat, type HeartbeatOptions } from '../src/heartbeat';
import { defaults } from '../src/options';

function make(o: HeartbeatOptions = {}) {
  const sent: Frame[] = [];
  const dead = vi.fn();
  const rtt = vi.fn<(ms: number) => void>();
  const hb = heartbeat({ ...defaults.heartbeat, ...o }, (f) => sent.push(f), dead, rtt);
  return { hb, sent, dead, rtt };
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date('2030-01-01T00:00:00Z'));
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Heartbeat', () => {
  it('pings after the interval, not before', () => {
    const { hb, sent } = make({ interval: 1000, timeout: 500 });
    hb.start();
    vi.advanceTimersByTime(999);
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(sent).toEqual(['ping']);
  });

  it('pings every 25 s with the default options', () => {
    const { hb, sent } = make();
    hb.start();
    vi.advanceTimersByTime(24_999);
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(sent).toEqual(['ping']);
  });

  it('keeps pinging while frames come back within the timeout', () => {
    const { hb, sent, dead } = make({ interval: 1000, timeout: 500 });
    hb.start();
    vi.advanceTimersByTime(1000);
    for (let i = 0; i < 4; i++) {
      vi.advanceTimersByTime(200);
      hb.seen('pong');
      vi.advanceTimersByTime(800);
    }
    expect(sent).toEqual(['ping', 'ping', 'ping', 'ping', 'ping']);
    expect(dead).not.toHaveBeenCalled();
  });

  it('calls dead once when no frame arrives within the timeout', () => {
    const { hb, sent, dead } = make({ interval: 1000, timeout: 500 });
    hb.start();
    vi.advanceTimersByTime(1000);
    vi.advanceTimersByTime(499);
    expect(dead).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(dead).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(60_000);
    expect(dead).toHaveBeenCalledTimes(1);
    expect(sent).toEqual(['ping']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('waits 10 s for an answer with the default options', () => {
    const { hb, dead } = make();
    hb.check();
    vi.advanceTimersByTime(9_999);
    expect(dead).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(dead).toHaveBeenCalledTimes(1);
  });

  it('counts any frame as life, but returns false for one that is not a pong', () => {
    const { hb, dead, rtt } = make({ interval: 1000, timeout: 500 });
    hb.start();
    vi.advanceTimersByTime(1000);
    vi.advanceTimersByTime(400);
    expect(hb.seen('["message","hi"]')).toBe(false);
    vi.advanceTimersByTime(500);
    expect(dead).not.toHaveBeenCalled();
    expect(rtt).not.toHaveBeenCalled();
  });

  it('still times out after a frame that arrived before the ping', () => {
    const { hb, dead } = make({ interval: 1000, timeout: 500 });
    hb.start();
    vi.advanceTimersByTime(900);
    hb.seen('["early"]');
    vi.advanceTimersByTime(100 + 500);
    expect(dead).toHaveBeenCalledTimes(1);
  });

  it('recognises the default pong and reports the round trip', () => {
    const { hb, rtt } = make({ interval: 1000, timeout: 5000 });
    hb.start();
    vi.advanceTimersByTime(1000);
    vi.advanceTimersByTime(120);
    expect(hb.seen('pong')).toBe(true);
    expect(rtt).toHaveBeenCalledTimes(1);
    expect(rtt).toHaveBeenCalledWith(120);
  });

  it('recognises a pong given as a string', () => {
    const { hb, rtt } = make({ pong: '{"type":"pong"}' });
    hb.check();
    vi.advanceTimersByTime(35);
    expect(hb.seen('pong')).toBe(false);
    expect(hb.seen('{"type":"pong"}')).toBe(true);
    expect(rtt.mock.calls).toEqual([[35]]);
  });

  it('recognises a pong with a predicate', () => {
    const pong = vi.fn((f: Frame) => typeof f == 'string' && f.startsWith('["pong"'));
    const { hb, rtt } = make({ pong });
    hb.check();
    vi.advanceTimersByTime(80);
    expect(hb.seen('["message"]')).toBe(false);
    expect(hb.seen('["pong",1]')).toBe(true);
    expect(pong.mock.calls).toEqual([['["message"]'], ['["pong",1]']]);
    expect(rtt.mock.calls).toEqual([[80]]);
  });

  it('reports the round trip once per ping', () => {
    const { hb, rtt } = make();
    hb.check();
    vi.advanceTimersByTime(50);
    expect(hb.seen('pong')).toBe(true);
    vi.advanceTimersByTime(50);
    expect(hb.seen('pong')).toBe(true);
    expect(rtt.mock.calls).toEqual([[50]]);
  });

  it('does not report a round trip for a pong that came without a ping', () => {
    const { hb, rtt } = make();
    hb.start();
    expect(hb.seen('pong')).toBe(true);
    expect(rtt).not.toHaveBeenCalled();
  });

  it('measures the round trip from the latest ping', () => {
    const { hb, rtt, sent } = make({ interval: 1000, timeout: 5000 });
    hb.start();
    vi.advanceTimersByTime(1000);
    vi.advanceTimersByTime(1000);
    expect(sent).toEqual(['ping', 'ping']);
    vi.advanceTimersByTime(30);
    hb.seen('pong');
    expect(rtt.mock.calls).toEqual([[30]]);
  });

  it('pings at once on check and then every interval from there', () => {
    const { hb, sent } = make({ interval: 1000, timeout: 500 });
    hb.start();
    vi.advanceTimersByTime(600);
    hb.check();
    expect(sent).toEqual(['ping']);
    hb.seen('pong');
    vi.advanceTimersByTime(999);
    expect(sent).toEqual(['ping']);
    vi.advanceTimersByTime(1);
    expect(sent).toEqual(['ping', 'ping']);
  });

  it('calls dead when nothing answers a check', () => {
    const { hb, dead } = make({ interval: 10_000, timeout: 300 });
    hb.check();
    vi.advanceTimersByTime(300);
    expect(dead).toHaveBeenCalledTimes(1);
  });

  it('does not extend the timeout with a second ping before an answer', () => {
    const { hb, dead } = make({ interval: 10_000, timeout: 500 });
    hb.check();
    vi.advanceTimersByTime(300);
    hb.check();
    vi.advanceTimersByTime(200);
    expect(dead).toHaveBeenCalledTimes(1);
  });

  it('leaves no timers after stop', () => {
    const { hb, sent, dead } = make({ interval: 1000, timeout: 500 });
    hb.start();
    vi.advanceTimersByTime(1000);
    expect(vi.getTimerCount()).toBe(2);
    hb.stop();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(10_000);
    expect(sent).toEqual(['ping']);
    expect(dead).not.toHaveBeenCalled();
  });

  it('keeps one ping timer when started twice', () => {
    const { hb, sent } = make({ interval: 1000, timeout: 500 });
    hb.start();
    hb.start();
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(1000);
    expect(sent).toEqual(['ping']);
    hb.stop();
  });

  it('can start again after stop', () => {
    const { hb, sent } = make({ interval: 1000, timeout: 500 });
    hb.start();
    hb.stop();
    hb.start();
    vi.advanceTimersByTime(1000);
    expect(sent).toEqual(['ping']);
    hb.stop();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('calls a ping function for every ping and sends what it returns', () => {
    let n = 0;
    const ping = vi.fn(() => `{"type":"ping","n":${++n}}`);
    const { hb, sent } = make({ interval: 1000, timeout: 500, ping });
    hb.start();
    vi.advanceTimersByTime(1000);
    hb.seen('pong');
    vi.advanceTimersByTime(1000);
    expect(ping).toHaveBeenCalledTimes(2);
    expect(sent).toEqual(['{"type":"ping","n":1}', '{"type":"ping","n":2}']);
  });

  it('sends a binary ping as is', () => {
    const ping = new Uint8Array([9]);
    const { hb, sent } = make({ ping });
    hb.check();
    expect(sent).toHaveLength(1);
    expect(sent[0]).toBe(ping);
  });
});
