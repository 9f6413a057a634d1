import { describe, expect, it } from 'vitest';
import type { Socket } from 'socket.io-client';
import { socketIo } from '../src/transports/socketio';

// A stand-in for socket.io-client's Socket, enough for the transport's send path: `emit` records, and a
// socket whose ping has just expired puts the emit in its `sendBuffer` instead, as socket.io-client does.
function fakeIo() {
  const on: Record<string, (...a: unknown[]) => void> = {};
  const sendBuffer = [] as unknown[];
  let splices = 0;
  sendBuffer.splice = function (this: unknown[], ...a: Parameters<unknown[]['splice']>) {
    splices++;
    return Array.prototype.splice.apply(this, a);
  };
  const s = {
    connected: false,
    expired: false,
    emitted: [] as unknown[][],
    sendBuffer,
    io: { on() {} },
    on: (event: string, fn: (...a: unknown[]) => void) => void (on[event] = fn),
    onAny() {},
    connect() {
      s.connected = true;
      on.connect!();
    },
    disconnect() {},
    emit(...a: unknown[]) {
      if (s.expired) sendBuffer.push(a);
      else s.emitted.push(a);
    },
    get splices() {
      return splices;
    },
  };
  return s;
}

describe('socketIo: send', () => {
  it('emits event and arguments as given, with no new array per send, and takes back what socket.io buffered', async () => {
    const s = fakeIo();
    const t = socketIo(() => s as unknown as Socket);
    let opened = 0;
    const conn = t.connect({ url: 'http://x.invalid/', protocols: undefined, WebSocket: undefined as never, open: () => opened++, frame() {}, close() {}, error() {}, rtt() {} });
    await new Promise((r) => setTimeout(r));
    expect(opened).toBe(1);
    const args = [{ n: 1 }, 'two'];
    expect(conn.send({ event: 'e', args })).toBe(true);
    expect(s.emitted).toEqual([['e', { n: 1 }, 'two']]);
    expect(s.emitted[0]![1]).toBe(args[0]);
    // A request: its ack callback goes last.
    expect(conn.send({ event: 'r', args: [3], id: 7 })).toBe(true);
    expect(s.emitted[1]!.slice(0, 2)).toEqual(['r', 3]);
    expect(typeof s.emitted[1]![2]).toBe('function');
    // Ping expired: socket.io buffers the emit; the transport empties its buffer in place and says "not sent".
    s.expired = true;
    const buffer = s.sendBuffer;
    expect(conn.send({ event: 'e', args: [2] })).toBe(false);
    expect(s.sendBuffer).toBe(buffer);
    expect(s.sendBuffer).toHaveLength(0);
    // Before: sendBuffer.splice(0) on every send, a new (usually empty) array each time.
    expect(s.splices).toBe(0);
  });
});
