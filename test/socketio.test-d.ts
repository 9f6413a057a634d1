import { describe, expectTypeOf, it } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import { Surewire, type SendResult, type Transport } from '../src/index';
import { socketIo, type SocketIoAuth, type SocketIoFactory, type SocketIoOptions } from '../src/socket.io';
import UMD from '../src/umd-socket.io';

// Written for socket.io-client (acks as the last parameter, both ways), used unchanged by surewire.
interface ServerToClientEvents {
  message: (m: { nick: string; text: string }) => void;
  pair: (a: number, b: string) => void;
  question: (q: string, ack: (answer: string) => void) => void;
  file: (data: ArrayBuffer) => void;
}
interface ClientToServerEvents {
  message: (nick: string, text: string) => void;
  history: (before: string, ack: (page: string[]) => void) => void;
  upload: (name: string, data: ArrayBuffer | Uint8Array) => void;
  ping: () => void;
}

describe('socketIo()', () => {
  it('takes socket.io-client\'s io as it is and makes a Transport', () => {
    expectTypeOf(socketIo(io)).toEqualTypeOf<Transport>();
    expectTypeOf(io).toExtend<SocketIoFactory>();
    expectTypeOf(socketIo).parameter(1).toEqualTypeOf<SocketIoOptions | undefined>();
    // @ts-expect-error: the io function is required
    socketIo();
    // @ts-expect-error: not an io function
    socketIo((url: string) => url);
  });

  it('types auth: an object, a sync or async function, or socket.io\'s callback form', () => {
    socketIo(io, { auth: { token: 'abc' } });
    socketIo(io, { auth: () => ({ token: 'abc' }) });
    socketIo(io, { auth: async () => ({ token: await Promise.resolve('abc') }) });
    socketIo(io, { auth: (cb) => cb({ token: 'abc' }) });
    expectTypeOf<SocketIoAuth>().toExtend<SocketIoOptions['auth']>();
    // @ts-expect-error: auth is an object, not a string
    socketIo(io, { auth: 'abc' });
    // @ts-expect-error: a function must give an object
    socketIo(io, { auth: () => 'abc' });
    // @ts-expect-error: a promise of an object, not of a string
    socketIo(io, { auth: async () => 'abc' });
    // @ts-expect-error: the callback takes an object
    socketIo(io, { auth: (cb) => cb('abc') });
    interface Token { token: string }
    const token: Token = { token: 'abc' };
    socketIo(io, { auth: token });
    socketIo(io, { auth: async () => token });
  });

  it('passes socket.io-client\'s own options, and refuses those surewire owns', () => {
    socketIo(io, { transports: ['websocket'], path: '/rt', query: { room: '7' }, extraHeaders: { 'x-a': '1' }, withCredentials: true });
    // @ts-expect-error: surewire reconnects
    socketIo(io, { reconnection: true });
    // @ts-expect-error: surewire reconnects
    socketIo(io, { reconnectionDelay: 100 });
    // @ts-expect-error: surewire's connectTimeout
    socketIo(io, { timeout: 5000 });
    // @ts-expect-error: surewire connects
    socketIo(io, { autoConnect: true });
    // @ts-expect-error: surewire's outbox, not socket.io's retry queue
    socketIo(io, { retries: 3 });
    // @ts-expect-error: request()'s timeout
    socketIo(io, { ackTimeout: 1000 });
    // @ts-expect-error: each transport has its own Manager
    socketIo(io, { forceNew: false });
    // @ts-expect-error: typo
    socketIo(io, { transport: ['websocket'] });
  });
});

describe('the client over socket.io', () => {
  const chat = new Surewire<ServerToClientEvents, ClientToServerEvents>('https://chat.example/room', {
    transport: socketIo(io, { auth: async () => ({ token: 't' }) }),
  });
  // The same interfaces type socket.io-client's own Socket.
  const raw: Socket<ServerToClientEvents, ClientToServerEvents> = io('https://chat.example/room');

  it('types events and requests from socket.io-client event maps', () => {
    chat.on('message', (m) => expectTypeOf(m).toEqualTypeOf<{ nick: string; text: string }>());
    raw.on('message', (m) => expectTypeOf(m).toEqualTypeOf<{ nick: string; text: string }>());
    expectTypeOf(chat.send('message', 'ada', 'hi')).toEqualTypeOf<SendResult>();
    expectTypeOf(chat.send('upload', 'a.bin', new Uint8Array(1))).toEqualTypeOf<SendResult>();
    expectTypeOf(chat.request('history', 'abc')).toEqualTypeOf<Promise<string[]>>();
    expectTypeOf(chat.timeout(1000).request('history', 'abc')).toEqualTypeOf<Promise<string[]>>();
    // @ts-expect-error: no argument is taken as options: a timeout goes through timeout(ms)
    chat.request('history', 'abc', { timeout: 1000 });
    expectTypeOf(chat.request('ping')).toEqualTypeOf<Promise<unknown>>();
    // @ts-expect-error: send() leaves the ack out
    chat.send('history', 'abc', (page: string[]) => page);
    // @ts-expect-error: wrong argument type
    chat.send('message', 'ada', 1);
    // @ts-expect-error: a server event, not a client one
    chat.send('question', 'q');
  });

  it('gives the listener of a server event with an ack its ack function', () => {
    chat.on('question', (q, ack) => {
      expectTypeOf(q).toEqualTypeOf<string>();
      expectTypeOf(ack).toEqualTypeOf<(answer: string) => void>();
    });
    // @ts-expect-error: the ack takes a string
    chat.on('question', (_q, ack) => ack(1));
  });

  it('types the open event, which carries recovered', () => {
    chat.connection.on('open', (o) => {
      expectTypeOf(o.attempt).toEqualTypeOf<number>();
      expectTypeOf(o).toHaveProperty('recovered');
    });
  });
});

describe('the CDN build', () => {
  it('carries the whole API plus socketIo and io on the global class', () => {
    expectTypeOf(UMD.socketIo).toEqualTypeOf(socketIo);
    expectTypeOf(UMD.io).toEqualTypeOf(io);
    expectTypeOf(UMD.jsonCodec).not.toBeAny();
    const c = new UMD<ServerToClientEvents, ClientToServerEvents>('https://x', { transport: UMD.socketIo(UMD.io) });
    expectTypeOf(c).toEqualTypeOf<Surewire<ServerToClientEvents, ClientToServerEvents>>();
  });
});
