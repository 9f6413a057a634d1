// Types of the demo server, for the tests that start it (the server itself is plain JavaScript).
import type { Server as HttpServer } from 'node:http';
import type { Server as SocketIoServer } from 'socket.io';
import type { WebSocketServer } from 'ws';
// The same types as dist/surewire.server.d.ts (the server imports the build), read from the source so that
// they resolve before a build.
import type { ReliableServer } from '../../src/server/index';

/** A chat message, as the server sends it. */
export interface ChatMessage {
  id: string;
  room: string;
  nick: string;
  text: string;
  at: number;
}

export interface DemoServerOptions {
  /** The range of delays (ms) after which a `?chaos=1` connection is terminated. @default { min: 2000, max: 5000 } */
  chaos?: { min: number; max: number };
  /** Where warnings and errors go. @default console */
  log?: Pick<Console, 'warn' | 'error'>;
  /** The chat's Redis (`redis://host:port`): several processes on one Redis are one chat. @default process.env.REDIS_URL (none: memory) */
  redisUrl?: string;
}

export interface DemoServer {
  port: number;
  http: HttpServer;
  io: SocketIoServer;
  wss: WebSocketServer;
  chat: {
    server: ReliableServer;
    /** The rooms, when in memory (with `redisUrl` they are in Redis, and this is `undefined`). */
    rooms: Map<string, { messages: ChatMessage[]; members: Set<string> }>;
  };
  /** Closes every connection (ws, socket.io, the legacy chat, HTTP); resolves when the port is free. */
  close(): Promise<void>;
}

export function startServer(port?: number, host?: string, options?: DemoServerOptions): Promise<DemoServer>;
