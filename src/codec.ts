/** A frame as it travels on the socket: text, or binary that passes through untouched. */
export type Frame = string | ArrayBuffer | ArrayBufferView<ArrayBuffer> | Blob;

/**
 * One message in the codec's terms.
 * - an event: `event` and `args`;
 * - a request: `event`, `args` and a numeric `id`;
 * - a reply to request `id`: `args[0]` is the result, or `error` is set.
 */
export interface Packet {
  /** The event name; absent in a reply. */
  event?: string;
  /** The event's arguments; in a reply, `[result]` (or `[]` with `error`). */
  args: unknown[];
  /** The request id, in a request and in its reply. */
  id?: number;
  /** Set in a reply that reports the server's error (`request` then rejects with a `RemoteError`). */
  error?: unknown;
}

/**
 * Turns packets into frames and frames into packets. Swap it to speak a server's own wire format.
 *
 * @example
 * // a server that speaks { "type": ..., "payload": ... }
 * const typed: Codec = {
 *   encode: (p) => JSON.stringify({ type: p.event, payload: p.args[0] }),
 *   decode: (f) => { const m = JSON.parse(f as string); return { event: m.type, args: [m.payload] }; },
 * };
 */
export interface Codec<F = Frame> {
  /** Makes the frame for a packet; throws on one it cannot write (`send` then throws an `encode` error). */
  encode(packet: Packet): F;
  /** Throws on a frame it cannot read; the client reports a `DecodeError` and carries on. */
  decode(frame: F): Packet;
}

/** An `ArrayBuffer`, a view of one, or a `Blob`. */
export const isBinary = (v: unknown): v is Frame =>
  // Blob is a global wherever surewire runs (browsers, Node 18 and later).
  v instanceof ArrayBuffer || ArrayBuffer.isView(v) || v instanceof Blob;

/**
 * The default codec.
 * - event: `["message", "hi"]`
 * - request: `{ "id": 7, "event": "history", "args": ["abc"] }`
 * - reply: `{ "id": 7, "result": … }` or `{ "id": 7, "error": … }`
 * - binary: a binary frame is the event `binary` with the data as its one argument, both ways.
 */
export const jsonCodec: Codec = {
  encode(p) {
    const { event, args, id } = p;
    return event == 'binary' && isBinary(args[0])
      ? args[0]
      : JSON.stringify(id == null ? [event, ...args] : event != null ? { id, event, args } : 'error' in p ? { id, error: p.error ?? null } : { id, result: args[0] });
  },
  decode(f) {
    if (typeof f != 'string') return { event: 'binary', args: [f] };
    const m = JSON.parse(f);
    if (Array.isArray(m) && typeof m[0] == 'string') return { event: m[0], args: m.slice(1) };
    if (typeof m?.id == 'number') {
      if (typeof m.event == 'string') return { id: m.id, event: m.event, args: Array.isArray(m.args) ? m.args : [] };
      return 'error' in m ? { id: m.id, args: [], error: m.error } : { id: m.id, args: [m.result] };
    }
    throw new TypeError('not ["event", ...args] or {"id": n}');
  },
};

/**
 * Events of a server that speaks bare frames (`textCodec`): a text frame is `message` with its text, a binary
 * frame `binary` with its data. Use it for both maps: `new Surewire<TextEvents, TextEvents>(url, { codec: textCodec })`.
 */
export interface TextEvents {
  /** A text frame, as it is. */
  message: (text: string) => void;
  /** A binary frame. */
  binary: (data: ArrayBuffer) => void;
}

/**
 * The codec for servers that speak bare frames, no envelope (a plain `ws` server that sends and logs text):
 * `send('message', text)` sends the text as it is, a text frame arrives as `message` with its string, and
 * binary passes through as `binary` both ways. Any other event, or a request, cannot be written in this
 * format: `send` throws an `encode` error naming the event.
 *
 * @example
 * const chat = new Surewire<TextEvents, TextEvents>('ws://localhost:8080', { codec: textCodec });
 * chat.on('message', (text) => console.log(text));
 * chat.send('message', 'hello server!');
 */
export const textCodec: Codec = {
  encode(p) {
    const [a] = p.args;
    if (p.id == null && (p.event == 'message' ? typeof a == 'string' : p.event == 'binary' && isBinary(a))) return a as Frame;
    throw new TypeError(`the text codec sends only ('message', text) and ('binary', data), not ${p.id == null ? `"${p.event}"` : 'requests'}`);
  },
  decode: (f) => ({ event: typeof f == 'string' ? 'message' : 'binary', args: [f] }),
};

/**
 * Size of a frame in bytes, as the server counts it: UTF-8 bytes for text (a lone surrogate counts 2, not
 * the 3 of its replacement character), bytes for binary; 0 for what is neither (socket.io packets).
 */
export const frameSize = (f: unknown): number => {
  if (typeof f != 'string') return (f as ArrayBuffer)?.byteLength ?? (f as Blob)?.size ?? 0;
  // Each UTF-16 unit as the bytes it takes: 2 up to U+07FF and for each half of a surrogate pair (4 for the
  // pair), 3 for the rest of the BMP. Two passes, since the second must not see the surrogates; a string of
  // ASCII only is scanned, not copied.
  return f.replace(/[\x80-\u07ff\ud800-\udfff]/g, 'xx').replace(/[\u0800-\uffff]/g, 'xxx').length;
};
