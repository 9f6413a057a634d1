export { Surewire, type SendResult } from './client';
export type {
  Connection,
  ConnectionState,
  ConnectionSnapshot,
  CloseInfo,
  StateReason,
  LifecycleEvents,
} from './connection';
export type { SurewireOptions, ReconnectOptions, Provider, Share } from './options';
export type { QueueOptions, QueueStorage, OverflowPolicy, DropReason } from './outbox';
export type { HeartbeatOptions } from './heartbeat';
export { jsonCodec, textCodec, type Codec, type Packet, type Frame, type TextEvents } from './codec';
export { computeDelay, type BackoffOptions } from './backoff';
export { CloseCode, stopCodes } from './close-codes';
export { webSocket } from './transports/websocket';
export { reliable, type Reliable, type ReliableOptions, type ReliableEvents } from './reliable';
export type { Transport, TransportConnection, TransportContext, WebSocketConstructor } from './transport';
export {
  SurewireError,
  OptionError,
  ConnectionError,
  TimeoutError,
  ClosedError,
  DecodeError,
  RemoteError,
  OverflowError,
  isSurewireError,
  type ErrorCode,
} from './errors';
export type {
  EventsMap,
  DefaultEvents,
  EventNames,
  EventArgs,
  SendArgs,
  ReplyOf,
  Unsubscribe,
} from './types';
