// The `ws` package's WebSocket as the client's `WebSocket` option, typed as the browser constructor it stands in for.
import { WebSocket } from 'ws';
import type { WebSocketConstructor } from '../../src/transport';

/** The `ws` package's WebSocket, typed as a browser WebSocket constructor. */
export const NodeWebSocket = WebSocket as unknown as WebSocketConstructor;

/**
 * A `ws` WebSocket constructor that keeps every socket it makes, so a test can count the client's
 * connection attempts (even refused ones, which no server sees) and inspect the sockets afterwards.
 */
export function recordingWebSocket(): { WebSocket: WebSocketConstructor; sockets: WebSocket[] } {
  const sockets: WebSocket[] = [];
  class RecordingWebSocket extends WebSocket {
    constructor(...args: ConstructorParameters<typeof WebSocket>) {
      super(...args);
      sockets.push(this);
    }
  }
  return { WebSocket: RecordingWebSocket as unknown as WebSocketConstructor, sockets };
}
