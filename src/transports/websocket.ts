import type { Transport } from '../transport';

/** The native `WebSocket` transport, the default. Binary frames arrive as `ArrayBuffer` everywhere. */
export const webSocket: Transport = {
  connect(ctx) {
    const Ctor = ctx.WebSocket ?? globalThis.WebSocket;
    // An undefined `protocols` is the constructor's default (no subprotocol) for browsers, ws, undici and jsdom.
    const ws = new Ctor(ctx.url, ctx.protocols);
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => ctx.open();
    ws.onmessage = (e) => ctx.frame(e.data);
    ws.onerror = (e) => ctx.error(e);
    ws.onclose = (e) => ctx.close(e.code, e.reason);
    return {
      send: (f) => ws.readyState == 1 && (ws.send(f as string), true),
      close(code, reason) {
        ws.onopen = ws.onmessage = ws.onclose = null;
        // Keep an error listener: the `ws` package throws an 'error' nobody listens to when a handshake is aborted.
        ws.onerror = () => {};
        try {
          ws.close(code, reason);
        } catch {
          // A socket that never got a handshake may refuse an application close code: it is going away anyway.
          ws.close();
        }
        // The `ws` package (Node) waits up to 30 s for the server's answer to a close, which a half-open link
        // never sends: give it a second, then cut it. Browsers do this themselves and have no terminate().
        const w = ws as WebSocket & { terminate?: () => void };
        if (w.terminate && ws.readyState != 3) {
          const t = setTimeout(() => w.terminate!(), 1000);
          ws.onclose = () => {
            clearTimeout(t);
            ws.onclose = null;
          };
        }
      },
    };
  },
};
