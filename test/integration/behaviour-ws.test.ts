// The shared core behaviours (behaviour.ts) over the native WebSocket transport, against a real `ws` server.
import { Surewire } from '../../src/client';
import { parseJson, startWsServer, type MessageHandler } from '../helpers/ws-server';
import { NodeWebSocket } from '../helpers/ws-client';
import { describeTransport } from './behaviour';

// `say` → `echo` with the same arguments; request `add` → a + b; request `ignore` → nothing.
const handler: MessageHandler = (frame, conn) => {
  const m = parseJson(frame);
  if (Array.isArray(m) && m[0] == 'say') conn.socket.send(JSON.stringify(['echo', ...m.slice(1)]));
  else if (m && typeof m == 'object' && 'id' in m && (m as { event?: string }).event == 'add') {
    const { id, args } = m as { id: number; args: [number, number] };
    conn.socket.send(JSON.stringify({ id, result: args[0] + args[1] }));
  }
};

describeTransport('the native WebSocket', {
  async server() {
    const s = await startWsServer({ onMessage: handler });
    return {
      url: s.url(),
      events: (conn) =>
        s.messages(conn).map((m) => (Array.isArray(m) ? m : [(m as { event: string }).event, ...(m as { args: unknown[] }).args])),
      connections: () => s.connections.length,
      open: () => s.open.length,
      drop: () => s.terminateAll(),
      stop: () => s.stop(),
      start: () => s.start().then(() => {}),
      close: () => s.close(),
    };
  },
  client: (url, options) => new Surewire(url, { WebSocket: NodeWebSocket, ...options }),
});
