// Types of the legacy chat server, for the demo server and the tests (the server itself is plain JavaScript).
import type { WebSocketServer } from 'ws';

/** A chat line, as the server sends it in `said` and in `welcome`'s `recent`. */
export interface Said {
  nick: string;
  text: string;
  at: number;
}

export interface LegacyChatOptions {
  /** The range of delays (ms) after which a `?chaos=1` connection is cut. @default { min: 2000, max: 5000 } */
  chaos?: { min: number; max: number };
}

export interface LegacyChat {
  /** A `noServer` WebSocketServer: route upgrades to it with `handleUpgrade` and `emit('connection', ws, req)`. */
  wss: WebSocketServer;
  /** Stops the keep-alive, cuts every connection and closes `wss`. */
  close(): Promise<void>;
}

export function legacyChat(options?: LegacyChatOptions): LegacyChat;
