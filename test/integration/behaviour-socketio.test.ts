// The shared core behaviours (behaviour.ts) over the socket.io transport, against a real socket.io server
// (socket.io-client's default transports: HTTP long-polling, upgraded to WebSocket).
import { io } from 'socket.io-client';
import { Surewire } from '../../src/client';
import { socketIo } from '../../src/socket.io';
import { startSioServer } from '../helpers/sio-server';
import { describeTransport } from './behaviour';

describeTransport('socket.io', {
  async server() {
    const s = await startSioServer({
      // `say` → `echo` with the same arguments; request `add` → a + b; request `ignore` → nothing.
      onConnection(socket) {
        socket.on('say', (...args) => socket.emit('echo', ...args));
        socket.on('add', (a: number, b: number, ack: (sum: number) => void) => ack(a + b));
      },
    });
    return {
      url: s.url(),
      events: (conn) => s.events(conn),
      connections: () => s.connections.length,
      open: () => s.open.length,
      drop: () => s.dropTransports(),
      stop: () => s.stop(),
      start: () => s.start().then(() => {}),
      close: () => s.close(),
    };
  },
  client: (url, options) => new Surewire(url, { transport: socketIo(io), ...options }),
});
