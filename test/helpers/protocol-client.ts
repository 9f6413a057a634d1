// Raw clients that speak PROTOCOL.md over the `ws` package, for the tests of `surewire/server`:
// - `ProtocolClient`: one socket, frames sent and received as they are (JSON codec), nothing automatic,
//   so a test can say exactly what goes on the wire, bad frames included;
// - `ReliableRawClient`: the client side of the protocol on top of it, reconnecting on demand: it sequences
//   its messages, keeps them until acknowledged, resends them after every `$welcome`, drops duplicate
//   server messages and acknowledges the others. It records everything a test needs to check the guarantees.
import { WebSocket } from 'ws';

export type Frame = unknown[];
export type Welcome = { seq: number | null; offset: number; resumed: boolean };

/** One raw protocol connection. Every text frame received is parsed as JSON and kept, in order. */
export class ProtocolClient {
  readonly frames: Frame[] = [];
  /** Text frames that were not JSON arrays (e.g. `pong`). */
  readonly texts: string[] = [];
  /** Set when the socket has closed. */
  closedWith: { code: number; reason: string } | undefined;
  readonly closed: Promise<{ code: number; reason: string }>;
  #waiters = new Set<() => void>();

  private constructor(readonly ws: WebSocket) {
    ws.on('error', () => {});
    ws.on('message', (data, binary) => {
      if (binary) return;
      const text = data.toString();
      let m: unknown;
      try {
        m = JSON.parse(text);
      } catch {
        m = undefined;
      }
      if (Array.isArray(m)) this.frames.push(m);
      else this.texts.push(text);
      this.#waiters.forEach((w) => w());
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => {
        this.closedWith = { code, reason: reason.toString() };
        this.#waiters.forEach((w) => w());
        resolve(this.closedWith);
      }),
    );
  }

  /** Opens a socket (no frame sent). */
  static open(url: string): Promise<ProtocolClient> {
    const ws = new WebSocket(url);
    const c = new ProtocolClient(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(c));
      ws.once('error', reject);
    });
  }

  /** Opens a socket, says `$hello` and waits for the `$welcome`. */
  static async hello(url: string, session: string, offset = 0): Promise<{ client: ProtocolClient; welcome: Welcome }> {
    const client = await ProtocolClient.open(url);
    client.send('$hello', session, offset);
    return { client, welcome: await client.welcome() };
  }

  get open(): boolean {
    return this.ws.readyState == WebSocket.OPEN;
  }

  /** Sends `[event, ...args]` as JSON. */
  send(event: string, ...args: unknown[]): void {
    this.ws.send(JSON.stringify([event, ...args]));
  }

  /** Sends a frame exactly as given. */
  raw(frame: string | Buffer): void {
    this.ws.send(frame);
  }

  /** The frames received whose event is `event`, without the event name. */
  of(event: string): unknown[][] {
    return this.frames.filter((f) => f[0] == event).map((f) => f.slice(1));
  }

  /** The `$ack` numbers received, in order. */
  acks(): number[] {
    return this.of('$ack').map((a) => a[0] as number);
  }

  /** The `$m` frames received, as `[offset, event, ...args]`. */
  messages(): unknown[][] {
    return this.of('$m');
  }

  /** Resolves once `check()` is truthy (checked at once and after every frame); rejects on timeout or close. */
  until<T>(check: () => T, what = 'condition', timeout = 2000): Promise<NonNullable<T>> {
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(poll);
      };
      const poll = (): void => {
        const v = check();
        if (v) return done(), resolve(v as NonNullable<T>);
        if (this.closedWith) done(), reject(new Error(`ProtocolClient: closed (${this.closedWith.code} ${this.closedWith.reason}) while waiting for ${what}`));
      };
      const timer = setTimeout(() => (done(), reject(new Error(`ProtocolClient: no ${what} within ${timeout} ms; frames: ${JSON.stringify(this.frames).slice(0, 300)}`))), timeout);
      this.#waiters.add(poll);
      poll();
    });
  }

  /** Waits for the `$welcome`. */
  async welcome(): Promise<Welcome> {
    const [seq, offset, resumed] = await this.until(() => this.of('$welcome')[0], '$welcome');
    return { seq: seq as number | null, offset: offset as number, resumed: resumed as boolean };
  }

  /** Waits for an `$ack` of at least `n`. */
  ackOf(n: number, timeout?: number): Promise<number> {
    return this.until(() => this.acks().find((a) => a >= n), `$ack >= ${n}`, timeout);
  }

  /** Waits for the close; resolves with its code and reason. */
  async closeOf(timeout = 2000): Promise<{ code: number; reason: string }> {
    await Promise.race([this.closed, new Promise((_, reject) => setTimeout(() => reject(new Error(`ProtocolClient: not closed within ${timeout} ms`)), timeout).unref())]);
    return this.closedWith!;
  }

  /** Closes the socket without a close handshake (like a network drop). */
  kill(): void {
    this.ws.terminate();
  }

  close(): void {
    this.ws.close();
  }
}

/** What `ReliableRawClient` saw of the server's stream. */
export interface ReceivedMessage {
  offset: number;
  event: string;
  args: unknown[];
}

/**
 * The client side of the protocol over `ProtocolClient`, driven by the test: `connect()` opens a socket
 * (through a proxy, say) and resumes the session; the test cuts it however it likes and calls `connect()` again.
 */
export class ReliableRawClient {
  seq = 0;
  seen = 0;
  /** Sent (or to be sent) and not acknowledged yet: `[n, event, args]`. */
  unacked: [number, string, unknown[]][] = [];
  /** The server's messages delivered to the "app", in order. */
  readonly received: ReceivedMessage[] = [];
  /** Server messages dropped as already seen. */
  duplicates = 0;
  /** Problems a correct server never causes (gaps, out-of-order acks). */
  readonly errors: string[] = [];
  readonly welcomes: Welcome[] = [];
  readonly discontinuities: { from: number; to: number }[] = [];
  /** Messages sent again after a `$welcome`. */
  resent = 0;
  /** Messages a `$welcome` said were stored although their `$ack` never arrived (the connection dropped first). */
  storedUnacked = 0;
  conn: ProtocolClient | undefined;
  #live = false;
  #ackTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly session: string,
    readonly ackDelay = 5,
  ) {}

  /** Opens a new connection to `url`, says `$hello`, and resends what is unacknowledged once welcomed. */
  async connect(url: string): Promise<Welcome> {
    this.#live = false;
    const c = await ProtocolClient.open(url);
    this.conn = c;
    let at = 0;
    c.ws.on('message', () => {
      // ProtocolClient's own listener ran first and appended the frame.
      for (; at < c.frames.length; at++) this.#frame(c, c.frames[at]!);
    });
    c.send('$hello', this.session, this.seen);
    return c.welcome();
  }

  /** Sends a message reliably: sequenced, kept until acknowledged, sent now if welcomed. */
  send(event: string, ...args: unknown[]): number {
    const n = ++this.seq;
    this.unacked.push([n, event, args]);
    if (this.#live && this.conn?.open) this.conn.send('$m', n, event, ...args);
    return n;
  }

  get acked(): boolean {
    return this.unacked.length == 0;
  }

  stop(): void {
    clearTimeout(this.#ackTimer);
    this.conn?.kill();
  }

  #frame(c: ProtocolClient, f: Frame): void {
    if (c != this.conn) return;
    const [event, a, b, r] = f;
    if (event == '$welcome') {
      const w: Welcome = { seq: a as number | null, offset: b as number, resumed: r as boolean };
      this.welcomes.push(w);
      this.storedUnacked += this.unacked.filter(([n]) => n <= (w.seq ?? 0)).length;
      this.#drop(w.seq ?? 0);
      if (!w.resumed) {
        this.discontinuities.push({ from: this.seen, to: w.offset });
        this.seen = w.offset;
      }
      for (const [n, e, args] of this.unacked) c.send('$m', n, e, ...args);
      this.resent += this.unacked.length;
      this.#live = true;
    } else if (event == '$ack') {
      this.#drop(a as number);
    } else if (event == '$m') {
      const n = a as number;
      if (n <= this.seen) this.duplicates++;
      else {
        if (n != this.seen + 1) this.errors.push(`gap: offset ${n} after ${this.seen}`);
        this.seen = n;
        this.received.push({ offset: n, event: b as string, args: f.slice(3) });
        this.#ackTimer ??= setTimeout(() => {
          this.#ackTimer = undefined;
          if (this.conn?.open) this.conn.send('$ack', this.seen);
        }, this.ackDelay);
      }
    }
  }

  #drop(n: number): void {
    if (n > this.seq) this.errors.push(`ack ${n} beyond the last sequence number ${this.seq}`);
    while (this.unacked.length && this.unacked[0]![0] <= n) this.unacked.shift();
  }
}
