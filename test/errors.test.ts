import { describe, expect, it, vi } from 'vitest';
import {
  ClosedError,
  ConnectionError,
  DecodeError,
  isSurewireError,
  OptionError,
  OverflowError,
  RemoteError,
  SurewireError,
  TimeoutError,
} from '../src/errors';

const brand = Symbol.for('surewire.error');

describe('SurewireError', () => {
  it('is an Error with a name, a code, a message prefixed with "surewire: " and a cause', () => {
    const cause = new Error('underlying');
    const e = new SurewireError('storage', 'outbox storage failed', cause);
    expect(e).toBeInstanceOf(Error);
    expect(e).toBeInstanceOf(SurewireError);
    expect(e.name).toBe('SurewireError');
    expect(e.code).toBe('storage');
    expect(e.message).toBe('surewire: outbox storage failed');
    expect(e.cause).toBe(cause);
    expect(String(e)).toBe('SurewireError: surewire: outbox storage failed');
    expect(e.stack).toContain('surewire: outbox storage failed');
  });

  it('has no cause property when none is given', () => {
    const e = new SurewireError('timeout', 'no cause');
    expect('cause' in e).toBe(false);
    expect(e.cause).toBeUndefined();
  });

  it('keeps a falsy cause', () => {
    expect(new SurewireError('timeout', 'm', 0).cause).toBe(0);
    expect(new SurewireError('timeout', 'm', null).cause).toBe(null);
    expect('cause' in new SurewireError('timeout', 'm', null)).toBe(true);
  });
});

describe.each([
  ['ConnectionError', ConnectionError],
  ['TimeoutError', TimeoutError],
  ['ClosedError', ClosedError],
  ['OverflowError', OverflowError],
] as const)('%s', (name, Class) => {
  it('extends SurewireError and Error and carries its name, code, message and cause', () => {
    const cause = new TypeError('inner');
    const e = new Class('timeout', 'it failed', cause);
    expect(e).toBeInstanceOf(Class);
    expect(e).toBeInstanceOf(SurewireError);
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe(name);
    expect(e.code).toBe('timeout');
    expect(e.message).toBe('surewire: it failed');
    expect(e.cause).toBe(cause);
    expect(String(e)).toBe(`${name}: surewire: it failed`);
    expect(isSurewireError(e)).toBe(true);
  });

  it('has no cause when none is given', () => {
    const e = new Class('timeout', 'm');
    expect('cause' in e).toBe(false);
  });
});

describe('OptionError', () => {
  it('extends SurewireError with code option, and names the option and the value in its message', () => {
    const e = new OptionError('reconnect.maxDelay', -5, 'a number >= 0');
    expect(e).toBeInstanceOf(SurewireError);
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('OptionError');
    expect(e.code).toBe('option');
    expect(e.option).toBe('reconnect.maxDelay');
    expect(e.value).toBe(-5);
    expect(e.cause).toBeUndefined();
    expect(e.message).toBe('surewire: invalid option `reconnect.maxDelay`: expected a number >= 0, got -5');
  });

  it.each([
    ['a string, quoted', 'fast', '"fast"'],
    ['an object as JSON', { a: 1 }, '{"a":1}'],
    ['an array as JSON', [1, 2], '[1,2]'],
    ['null', null, 'null'],
    ['undefined', undefined, 'undefined'],
    ['a boolean', true, 'true'],
    ['a function, without its source', () => 42, 'a function'],
    ['a symbol', Symbol('s'), 'Symbol(s)'],
    ['a bigint', 10n, '10'],
  ])('shows %s', (_, value, shown) => {
    expect(new OptionError('opt', value, 'something').message).toBe(`surewire: invalid option \`opt\`: expected something, got ${shown}`);
  });

  it('shortens a long value to 80 characters', () => {
    const e = new OptionError('key', 'x'.repeat(200), 'a short string');
    expect(e.message).toBe(`surewire: invalid option \`key\`: expected a short string, got "${'x'.repeat(79)}`);
  });

  it('shows a value that JSON cannot write', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(new OptionError('codec', cyclic, 'a codec').message).toBe(
      'surewire: invalid option `codec`: expected a codec, got [object Object]',
    );
  });
});

describe('DecodeError', () => {
  it('extends SurewireError with code decode and holds the frame and the cause', () => {
    const cause = new SyntaxError('Unexpected token');
    const e = new DecodeError('not json', cause);
    expect(e).toBeInstanceOf(SurewireError);
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('DecodeError');
    expect(e.code).toBe('decode');
    expect(e.frame).toBe('not json');
    expect(e.cause).toBe(cause);
    expect(e.message).toBe('surewire: could not decode a frame');
  });
});

describe('RemoteError', () => {
  it('extends SurewireError with code remote and holds what the server sent', () => {
    const data = { code: 403, message: 'forbidden' };
    const e = new RemoteError(data);
    expect(e).toBeInstanceOf(SurewireError);
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('RemoteError');
    expect(e.code).toBe('remote');
    expect(e.data).toBe(data);
    expect(e.cause).toBeUndefined();
    expect(e.message).toBe('surewire: the server answered with an error: {"code":403,"message":"forbidden"}');
  });
});

describe('isSurewireError', () => {
  it('is true for an instance of every class', () => {
    const all = [
      new SurewireError('timeout', 'b'),
      new OptionError('o', 1, 'x'),
      new ConnectionError('socket', 'm'),
      new TimeoutError('timeout', 'm'),
      new ClosedError('closed', 'm'),
      new DecodeError('f', null),
      new RemoteError('no'),
      new OverflowError('overflow', 'm'),
    ];
    expect(all.map(isSurewireError)).toEqual(Array(all.length).fill(true));
  });

  it('is true for an object carrying the registered brand, as an error from another realm does', () => {
    expect(isSurewireError({ [brand]: true, name: 'TimeoutError', code: 'timeout' })).toBe(true);
  });

  it('is true for an error from another copy of the library, which instanceof misses', async () => {
    vi.resetModules();
    const other = await import('../src/errors');
    expect(other.SurewireError).not.toBe(SurewireError);
    const foreign = new other.TimeoutError('timeout', 'from the other copy');
    expect(foreign instanceof SurewireError).toBe(false);
    expect(isSurewireError(foreign)).toBe(true);
    expect(other.isSurewireError(new ClosedError('closed', 'from this copy'))).toBe(true);
  });

  it.each([
    ['a plain Error', new Error('x')],
    ['a TypeError', new TypeError('x')],
    ['an object with a similar name and code', { name: 'SurewireError', code: 'timeout', message: 'x' }],
    ['an object with an unregistered symbol of the same description', { [Symbol('surewire.error')]: true }],
    ['an object with a false brand', { [brand]: false }],
    ['null', null],
    ['undefined', undefined],
    ['a string', 'SurewireError'],
    ['a number', 0],
  ])('is false for %s', (_, value) => {
    expect(isSurewireError(value)).toBe(false);
  });
});
