import { describe, expect, it } from 'vitest';
import { CloseCode, isStopCode, stopCodes } from '../src/close-codes';

describe('CloseCode', () => {
  it('names the codes the client (4000–4003) and the server helper (standard ones) close with', () => {
    expect(CloseCode).toStrictEqual({ goingAway: 1001, violation: 1008, tooBig: 1009, internal: 1011, tryAgain: 1013, heartbeatTimeout: 4000, connectTimeout: 4001, reconnect: 4002, protocol: 4003 });
  });
});

describe('stopCodes', () => {
  it('lists protocol error, unsupported data, invalid payload, policy violation and missing extension', () => {
    expect(stopCodes).toStrictEqual([1002, 1003, 1007, 1008, 1010]);
  });
});

describe('isStopCode', () => {
  it.each([1002, 1003, 1007, 1008, 1010])('stops on the built-in code %i', (code) => {
    expect(isStopCode(code)).toBe(true);
    expect(isStopCode(code, [])).toBe(true);
    expect(isStopCode(code, [4100, [4200, 4299]])).toBe(true);
  });

  it.each([1000, 1001, 1005, 1006, 1009, 1011, 1012, 1013, 1015, 4000, 4001, 4002, 4003, 4999])(
    'retries on the code %i when no extra codes are given',
    (code) => {
      expect(isStopCode(code)).toBe(false);
    },
  );

  it('stops on an extra code given as a number, and only on that code', () => {
    const extra = [4403, 1000];
    expect(isStopCode(4403, extra)).toBe(true);
    expect(isStopCode(1000, extra)).toBe(true);
    expect(isStopCode(4404, extra)).toBe(false);
    expect(isStopCode(4402, extra)).toBe(false);
    expect(isStopCode(1006, extra)).toBe(false);
  });

  it('stops on every code of a [from, to] range, both ends included', () => {
    const extra = [[4400, 4499]] as const;
    expect(isStopCode(4400, extra)).toBe(true);
    expect(isStopCode(4450, extra)).toBe(true);
    expect(isStopCode(4499, extra)).toBe(true);
    expect(isStopCode(4399, extra)).toBe(false);
    expect(isStopCode(4500, extra)).toBe(false);
  });

  it('treats a range of one code like that code', () => {
    expect(isStopCode(4001, [[4001, 4001]])).toBe(true);
    expect(isStopCode(4000, [[4001, 4001]])).toBe(false);
    expect(isStopCode(4002, [[4001, 4001]])).toBe(false);
  });

  it('mixes numbers and ranges', () => {
    const extra: readonly (number | readonly [number, number])[] = [4000, [4100, 4199], 4300, [4500, 4509]];
    expect([4000, 4100, 4150, 4199, 4300, 4500, 4509].map((c) => isStopCode(c, extra))).toEqual(Array(7).fill(true));
    expect([4001, 4099, 4200, 4299, 4301, 4499, 4510].map((c) => isStopCode(c, extra))).toEqual(Array(7).fill(false));
  });
});
