/**
 * Close codes the client itself uses when it gives up on a socket. They are in the 4000 range that
 * RFC 6455 leaves to applications, and the server sees them too when the socket can still carry a close frame.
 */
export const CloseCode = {
  /** No frame arrived within `heartbeat.timeout` after a ping. */
  heartbeatTimeout: 4000,
  /** The socket was not open within `connectTimeout`. */
  connectTimeout: 4001,
  /** `reconnect()` replaced a working socket. */
  reconnect: 4002,
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
  stopCodes.includes(code) || extra.some((c) => (typeof c === 'number' ? c === code : code >= c[0] && code <= c[1]));
