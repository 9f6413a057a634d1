/**
 * Close codes surewire itself sends, on the client (4000–4002, in the range RFC 6455 leaves to applications)
 * and in `surewire/server` (standard codes). The server sees the client's when the socket can still carry a
 * close frame; the client judges the server's with the close-code table below.
 */
export const CloseCode = {
  /** Server: the session was taken over by a newer connection, or the server is closing. The client reconnects. */
  goingAway: 1001,
  /** Server: the peer broke the protocol or a policy (refused principal, bad numbers). The client stops. */
  violation: 1008,
  /** Server: a frame larger than its `maxFrame`. */
  tooBig: 1009,
  /** Server: an unexpected error of its own (a codec that threw). The client reconnects. */
  internal: 1011,
  /** Server: the store failed, a limit was reached, or the client floods it. The client reconnects later. */
  tryAgain: 1013,
  /** Client: no frame arrived within `heartbeat.timeout` after a ping. */
  heartbeatTimeout: 4000,
  /** Client: the socket was not open within `connectTimeout`. */
  connectTimeout: 4001,
  /** Client: `reconnect()` replaced a working socket. */
  reconnect: 4002,
  /**
   * Client (`reliable()`): the server broke the reliable protocol (a number out of range, a frame out of
   * place) or did not answer `$hello` within `helloTimeout`. The client reconnects after the backoff.
   */
  protocol: 4003,
} as const;

/**
 * Close codes that mean "do not come back": retrying would fail the same way.
 * 1002 protocol error, 1003 unsupported data, 1007 invalid payload, 1008 policy violation,
 * 1010 missing extension. Everything else (1000, 1001, 1006, 1011, 1012, 1013, 4000–4999 …) retries,
 * unless it is listed in `reconnect.stopCodes` or `shouldReconnect` says otherwise.
 */
export const stopCodes: readonly number[] = [1002, 1003, 1007, 1008, 1010];

/** Whether `code` stops reconnection, given the user's extra codes and `[from, to]` ranges. */
export const isStopCode = (code: number, extra: readonly (number | readonly [number, number])[] = []): boolean =>
  [...stopCodes, ...extra].some((c) => (typeof c == 'number' ? c == code : code >= c[0] && code <= c[1]));
