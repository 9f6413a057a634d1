/**
 * An event map in the socket.io style: event name → listener signature.
 * Interfaces written for socket.io-client (`ServerToClientEvents`, `ClientToServerEvents`) fit as they are.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type EventsMap = { [event: string]: any };

/** The map used when none is given: any event, any arguments. */
export type DefaultEvents = {
  /** Any event name, with any arguments. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [event: string]: (...args: any[]) => void;
};

/** Removes the listener or subscription it was returned for. Calling it twice is harmless. */
export type Unsubscribe = () => void;

/** Names of the events of a map. */
export type EventNames<M extends EventsMap> = keyof M & string;

/** Arguments of event `E`. */
export type EventArgs<M extends EventsMap, E extends keyof M> = M[E] extends (...args: infer A) => unknown ? A : never;

/** The event's arguments without a trailing acknowledgement callback (socket.io style), which `send` and `request` leave out. */
export type SendArgs<M extends EventsMap, E extends keyof M> =
  EventArgs<M, E> extends [...infer Head, infer Last] ? (Last extends (...a: never[]) => unknown ? Head : EventArgs<M, E>) : EventArgs<M, E>;

/** What `request(E)` resolves with: the first argument of the event's acknowledgement callback, or `unknown`. */
export type ReplyOf<M extends EventsMap, E extends keyof M> =
  EventArgs<M, E> extends [...unknown[], (reply: infer R, ...rest: never[]) => unknown] ? R : unknown;
