import { describe, expectTypeOf, it } from 'vitest';
import { Surewire, type ConnectionSnapshot, type SendResult, type SurewireError } from '../src/index';

// Written for socket.io-client, used unchanged.
interface ServerToClientEvents {
  message: (m: { nick: string; text: string }) => void;
  typing: (nick: string) => void;
  pair: (a: number, b: string) => void;
}
interface ClientToServerEvents {
  message: (nick: string, text: string) => void;
  history: (before: string, ack: (page: string[]) => void) => void;
  ping: () => void;
}

declare const chat: Surewire<ServerToClientEvents, ClientToServerEvents>;

describe('event maps', () => {
  it('types listeners from the server map', () => {
    chat.on('message', (m) => expectTypeOf(m).toEqualTypeOf<{ nick: string; text: string }>());
    chat.once('pair', (a, b) => {
      expectTypeOf(a).toEqualTypeOf<number>();
      expectTypeOf(b).toEqualTypeOf<string>();
    });
    expectTypeOf(chat.on('typing', () => {})).toEqualTypeOf<() => void>();
    // @ts-expect-error: not an event of the server map
    chat.on('nope', () => {});
    // @ts-expect-error: wrong listener signature
    chat.on('typing', (n: number) => n);
  });

  it('types send from the client map, leaving out a trailing ack', () => {
    expectTypeOf(chat.send('message', 'ada', 'hi')).toEqualTypeOf<SendResult>();
    chat.send('history', 'abc');
    chat.send('ping');
    // @ts-expect-error: not an event of the client map
    chat.send('typing', 'ada');
    // @ts-expect-error: wrong argument type
    chat.send('message', 'ada', 1);
    // @ts-expect-error: missing argument
    chat.send('message', 'ada');
  });

  it('types request replies from the ack callback', () => {
    expectTypeOf(chat.request('history', 'abc')).toEqualTypeOf<Promise<string[]>>();
    expectTypeOf(chat.timeout(5000).request('history', 'abc')).toEqualTypeOf<Promise<string[]>>();
    // @ts-expect-error: an options object is never guessed from the arguments
    chat.request('history', 'abc', { timeout: 5000 });
    expectTypeOf(chat.request('ping')).toEqualTypeOf<Promise<unknown>>();
    // @ts-expect-error: wrong argument type
    chat.request('history', 1);
  });

  it('accepts anything without maps', () => {
    const loose = new Surewire('ws://x');
    loose.send('anything', 1, { a: 2 });
    loose.on('whatever', (...args) => expectTypeOf(args).toEqualTypeOf<any[]>());
  });
});

describe('lifecycle', () => {
  it('types lifecycle events and the store', () => {
    chat.connection.on('state', (c) => expectTypeOf(c.to).toEqualTypeOf<ConnectionSnapshot['state']>());
    chat.connection.on('reconnecting', ({ attempt, delay }) => expectTypeOf([attempt, delay]).toEqualTypeOf<number[]>());
    chat.connection.on('error', (e) => expectTypeOf(e).toEqualTypeOf<SurewireError>());
    chat.connection.on('close', (c) => expectTypeOf(c.willReconnect).toEqualTypeOf<boolean>());
    // @ts-expect-error: lifecycle events live on chat.connection, app events on chat
    chat.connection.on('message', () => {});
    expectTypeOf(chat.connection.subscribe).parameter(0).toEqualTypeOf<(s: ConnectionSnapshot) => void>();
    expectTypeOf(chat.connection.getSnapshot()).toEqualTypeOf<ConnectionSnapshot>();
  });

  it('rejects invalid option types at compile time', () => {
    // @ts-expect-error: overflow is one of three policies
    new Surewire('ws://x', { queue: { overflow: 'drop-all' } });
    // @ts-expect-error: typo in an option name
    new Surewire('ws://x', { reconect: false });
  });
});
