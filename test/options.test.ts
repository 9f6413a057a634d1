import { describe, expect, it, vi } from 'vitest';
import { OptionError, SurewireError } from '../src/errors';
import { defaults, parseUrl, redact, validate } from '../src/options';

const URL_ = 'wss://example.test/socket';

/** The OptionError that validate throws; fails the test when it throws nothing or something else. */
function rejection(url: unknown, options: unknown): OptionError {
  try {
    validate(url, options);
  } catch (e) {
    if (e instanceof OptionError) return e;
    throw e;
  }
  throw new Error(`validate accepted ${String(url)} with ${JSON.stringify(options)}`);
}

/** `{ a: { b: value } }` for the path `'a.b'`. */
function at(path: string, value: unknown): Record<string, unknown> {
  const keys = path.split('.');
  return keys.reduceRight<Record<string, unknown>>((inner, key, i) => ({ [key]: i == keys.length - 1 ? value : inner }), {});
}

const noop = () => {};

describe('validate: options with a wrong value', () => {
  it.each<[string, unknown, string]>([
    ['transport', 'ws', '"ws"'],
    ['transport', { open: noop }, '{}'],
    ['WebSocket', 'ws', '"ws"'],
    ['WebSocket', {}, '{}'],
    ['protocols', 5, '5'],
    ['protocols', null, 'null'],
    ['protocols', { chat: true }, '{"chat":true}'],
    ['reconnect', true, 'true'],
    ['reconnect', 'yes', '"yes"'],
    ['reconnect', null, 'null'],
    ['reconnect', [], '[]'],
    ['reconnect.initialDelay', -1, '-1'],
    ['reconnect.initialDelay', '1000', '"1000"'],
    ['reconnect.maxDelay', -5, '-5'],
    ['reconnect.maxDelay', 2 ** 31, '2147483648'],
    ['reconnect.factor', 0.5, '0.5'],
    ['reconnect.factor', 0, '0'],
    ['reconnect.jitter', 1.5, '1.5'],
    ['reconnect.jitter', -0.1, '-0.1'],
    ['reconnect.maxRetries', -1, '-1'],
    ['reconnect.maxRetries', '3', '"3"'],
    ['reconnect.stableAfter', -100, '-100'],
    ['reconnect.stopCodes', 1008, '1008'],
    ['reconnect.stopCodes', '1008', '"1008"'],
    ['reconnect.shouldReconnect', true, 'true'],
    ['connectTimeout', 0, '0'],
    ['connectTimeout', '5s', '"5s"'],
    ['connectTimeout', 2 ** 31, '2147483648'],
    ['connectTimeout', Infinity, 'Infinity'],
    ['queue', true, 'true'],
    ['queue', null, 'null'],
    ['queue.max', -1, '-1'],
    ['queue.max', '10', '"10"'],
    ['queue.maxBytes', -1, '-1'],
    ['queue.overflow', 'drop', '"drop"'],
    ['queue.overflow', 'oldest', '"oldest"'],
    ['queue.overflow', 1, '1'],
    ['queue.ttl', -1, '-1'],
    ['queue.storage', {}, '{}'],
    ['queue.storage', { getItem: noop }, '{}'],
    ['queue.storage', 'localStorage', '"localStorage"'],
    ['queue.key', 5, '5'],
    ['heartbeat', true, 'true'],
    ['heartbeat', 'ping', '"ping"'],
    ['heartbeat.interval', 0, '0'],
    ['heartbeat.timeout', 2 ** 40, '1099511627776'],
    ['heartbeat.interval', '25s', '"25s"'],
    ['heartbeat.timeout', 0, '0'],
    ['heartbeat.timeout', -5, '-5'],
    ['codec', {}, '{}'],
    ['codec', { encode: noop }, '{}'],
    ['codec', 'json', '"json"'],
    ['requestTimeout', 0, '0'],
    ['requestTimeout', '10s', '"10s"'],
    ['autoConnect', 'yes', '"yes"'],
    ['autoConnect', 1, '1'],
    ['debug', 'verbose', '"verbose"'],
    ['debug', 1, '1'],
  ])('rejects %s = %j, naming the option and the value', (path, value, shown) => {
    const e = rejection(URL_, at(path, value));
    expect(e).toBeInstanceOf(SurewireError);
    expect(e.code).toBe('option');
    expect(e.option).toBe(path);
    expect(e.value).toBe(value);
    expect(e.message).toContain(`\`${path}\``);
    expect(e.message).toContain(`got ${shown}`);
  });

  it.each<[string, unknown, string]>([
    ['connectTimeout', 0, 'expected a number from 1 to 2147483647'],
    ['reconnect.jitter', 2, 'expected a number from 0 to 1'],
    ['reconnect.maxRetries', -1, 'expected a number from 0 to Infinity'],
    ['autoConnect', 'no', 'expected a boolean'],
    ['WebSocket', 1, 'expected a function'],
    ['queue.overflow', 'x', "expected 'drop-oldest', 'drop-newest' or 'error'"],
    ['reconnect', 1, 'expected false or an object'],
  ])('says what %s expects', (path, value, expected) => {
    expect(rejection(URL_, at(path, value)).message).toContain(expected);
  });

  it('names the first wrong option when several are wrong', () => {
    expect(rejection(URL_, { connectTimeout: -1, autoConnect: 'x' }).option).toBe('connectTimeout');
  });

  it('names a function value without printing its source', () => {
    const e = rejection(URL_, { requestTimeout: () => 5000 });
    expect(e.message).toBe('surewire: invalid option `requestTimeout`: expected a number from 1 to 2147483647, got a function');
  });

  it.each<[string, number]>([
    ['reconnect.maxDelay', NaN],
    ['reconnect.jitter', Infinity],
  ])('shows %s = %s as that number in the message, not as null', (path, value) => {
    const e = rejection(URL_, at(path, value));
    expect(e.option).toBe(path);
    expect(e.value).toBe(value);
    expect(e.message).toContain(`got ${String(value)}`);
  });

  it.each<[string, unknown]>([
    ['reconnect.stopCodes', ['1008']],
    ['reconnect.stopCodes', [[4000]]],
    ['reconnect.stopCodes', [null]],
  ])('rejects %s = %j: entries must be codes or [from, to] ranges', (path, value) => {
    const e = rejection(URL_, at(path, value));
    expect(e.option).toBe(path);
  });
});

describe('validate: unknown options', () => {
  it.each([
    ['reconect', { reconect: { maxDelay: 1000 } }],
    ['heartBeat', { heartBeat: false }],
    ['timeout', { timeout: 5000 }],
    ['reconnect.maxDelays', { reconnect: { maxDelays: 1000 } }],
    ['reconnect.retries', { reconnect: { retries: 3 } }],
    ['queue.maxbytes', { queue: { maxbytes: 10 } }],
    ['queue.overflowPolicy', { queue: { overflowPolicy: 'error' } }],
    ['heartbeat.intervall', { heartbeat: { intervall: 1000 } }],
  ])('rejects the typo %s and lists the known options', (path, options) => {
    const e = rejection(URL_, options);
    expect(e.option).toBe(path);
    expect(e.message).toContain(`\`${path}\``);
    expect(e.message).toContain('expected a known option');
  });

  it('lists the options known at that level', () => {
    expect(rejection(URL_, { heartbeat: { intervall: 1 } }).message).toBe(
      'surewire: invalid option `heartbeat.intervall`: expected a known option (interval, timeout, ping, pong), got 1',
    );
  });

  it('rejects an unknown option even when its value is undefined', () => {
    expect(rejection(URL_, { reconect: undefined }).option).toBe('reconect');
  });

  it.each([
    ['constructor', { constructor: {} }],
    ['queue.constructor', { queue: { constructor: {} } }],
  ])('rejects %s, a name Object.prototype has but no option', (path, options) => {
    const e = rejection(URL_, options);
    expect(e.option).toBe(path);
    expect(e.message).toContain('expected a known option');
  });
});

describe('validate: url and options object', () => {
  const expected = 'a ws, wss, http or https URL';
  it.each<[string, unknown, string]>([
    ['a number', 8080, '8080'],
    ['null', null, 'null'],
    ['undefined', undefined, 'undefined'],
    ['an object', { href: 'wss://x' }, '{"href":"wss://x"}'],
    ['an array', ['wss://x'], '["wss://x"]'],
    ['an unparseable string', 'ws://', '"ws://"'],
    ['a wrong scheme', 'ftp://example.test/ws', '"ftp://example.test/ws"'],
    ['a relative path outside a browser', '/socket', '"/socket"'],
  ])('rejects %s as url, a mistake that can never work', (_, url, shown) => {
    const e = rejection(url, {});
    expect(e.option).toBe('url');
    expect(e.value).toBe(url);
    expect(e.message).toBe(`surewire: invalid option \`url\`: expected ${expected}, got ${shown}`);
  });

  it('rejects a URL without a scheme and suggests the fix', () => {
    const e = rejection('localhost:3000/ws', {});
    expect(e.option).toBe('url');
    expect(e.message).toBe(`surewire: invalid option \`url\`: expected ${expected} (did you mean "ws://localhost:3000/ws"?), got "localhost:3000/ws"`);
  });

  it.each<[string, unknown]>([
    ['a ws string', 'ws://example.test'],
    ['a wss string', 'wss://example.test/chat?room=1'],
    ['an http string (socket.io, or a browser that upgrades it)', 'http://127.0.0.1:3000/'],
    ['a URL', new URL('wss://example.test/a?b=c')],
    ['a function', () => 'wss://example.test'],
    ['an async function', async () => new URL('wss://example.test')],
  ])('accepts %s as url', (_, url) => {
    expect(() => validate(url, {})).not.toThrow();
  });

  it('accepts a relative string in a browser, resolved against the page', () => {
    vi.stubGlobal('location', { href: 'https://app.example.test/chat/' });
    try {
      expect(parseUrl('/socket').href).toBe('https://app.example.test/socket');
      expect(() => validate('/socket', {})).not.toThrow();
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('redacts credentials and the query string of a URL shown in errors and logs', () => {
    expect(redact(new URL('wss://ada:secret@chat.example.test:8443/ws?token=abc&room=1'))).toBe('wss://chat.example.test:8443/ws?…');
    expect(redact(new URL('ws://127.0.0.1:3000/ws'))).toBe('ws://127.0.0.1:3000/ws');
  });

  it.each<[string, unknown]>([
    ['null', null],
    ['a string', 'fast'],
    ['an array', []],
    ['a number', 1],
    ['undefined', undefined],
  ])('rejects %s as the options object', (_, options) => {
    const e = rejection(URL_, options);
    expect(e.option).toBe('options');
    expect(e.message).toContain('expected an object');
  });
});

describe('validate: accepted options', () => {
  it.each<[string, Record<string, unknown>]>([
    ['no options', {}],
    ['reconnect: false', { reconnect: false }],
    ['queue: false', { queue: false }],
    ['heartbeat: false', { heartbeat: false }],
    ['everything off', { reconnect: false, queue: false, heartbeat: false, autoConnect: false }],
    ['options left undefined', { reconnect: undefined, queue: undefined, codec: undefined }],
    ['empty groups', { reconnect: {}, queue: {}, heartbeat: {} }],
    ['the edges of every range', {
      reconnect: { initialDelay: 0, maxDelay: 0, factor: 1, jitter: 0, maxRetries: 0, stableAfter: 0 },
      queue: { max: 0, maxBytes: 0, ttl: 0 },
      heartbeat: { interval: 1, timeout: 1 },
      connectTimeout: 1,
      requestTimeout: 1,
    }],
    ['jitter 1 and unbounded counts', { reconnect: { jitter: 1, maxRetries: Infinity }, queue: { max: Infinity, maxBytes: Infinity, ttl: Infinity } }],
    ['protocols as a string', { protocols: 'chat' }],
    ['protocols as an array', { protocols: ['chat', 'v2'] }],
    ['protocols as a function', { protocols: async () => ['chat'] }],
    ['every option', {
      transport: { connect: noop },
      WebSocket: class {},
      reconnect: { initialDelay: 500, maxDelay: 10000, factor: 1.5, jitter: 0.3, maxRetries: 10, stableAfter: 2000, stopCodes: [4401, [4500, 4599]], shouldReconnect: () => true },
      connectTimeout: 5000,
      queue: { max: 50, maxBytes: 65536, overflow: 'error', ttl: 60000, storage: { getItem: () => null, setItem: noop }, key: 'app:outbox' },
      heartbeat: { interval: 20000, timeout: 5000, ping: () => '{"t":"ping"}', pong: (f: unknown) => f === 'pong' },
      codec: { encode: noop, decode: noop },
      requestTimeout: 3000,
      autoConnect: true,
      debug: (m: string) => void m,
    }],
    ['binary ping and pong', { heartbeat: { ping: new Uint8Array([1]), pong: new Uint8Array([2]) } }],
    ['overflow drop-newest', { queue: { overflow: 'drop-newest' } }],
    ['debug true', { debug: true }],
  ])('accepts %s', (_, options) => {
    expect(() => validate(URL_, options)).not.toThrow();
  });
});

describe('validate: defaults', () => {
  it('fills in every default, also under options given as undefined', () => {
    const o = validate(URL_, { reconnect: { initialDelay: undefined, maxRetries: 3 }, queue: undefined, connectTimeout: undefined });
    expect(o.reconnect).toEqual({ ...defaults.reconnect, maxRetries: 3 });
    expect(o.queue).toEqual(defaults.queue);
    expect(o.heartbeat).toEqual(defaults.heartbeat);
    expect(o.connectTimeout).toBe(10000);
    expect(o.requestTimeout).toBe(10000);
  });

  it('keeps false for a group that is turned off', () => {
    const o = validate(URL_, { reconnect: false, queue: false, heartbeat: false });
    expect([o.reconnect, o.queue, o.heartbeat]).toEqual([false, false, false]);
  });

  it('merges a group over its defaults without changing them', () => {
    expect(validate(URL_, { queue: { max: 5 } }).queue).toEqual({ ...defaults.queue, max: 5 });
    expect(defaults.queue.max).toBe(1000);
  });
});
