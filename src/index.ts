export { Surewire, type SendResult } from './client';
export type {
  Connection,
  ConnectionState,
  ConnectionSnapshot,
  CloseInfo,
  LifecycleEvents,
} from './connection';
export type { SurewireOptions, ReconnectOptions, Provider, CloseEventInfo, Share } from './options';
export type { QueueOptions, OutboxStorage, OverflowPolicy, DropReason } from './outbox';
export type { HeartbeatOptions } from './heartbeat';
export { jsonCodec, type Codec, type Packet, type Frame } from './codec';
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
} from './errors';
export type {
  EventsMap,
  DefaultEvents,
  EventNames,
  EventArgs,
  SendArgs,
  ReplyOf,
  RequestOptions,
  Unsubscribe,
} from './types';
