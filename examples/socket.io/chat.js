// The same chat over socket.io. The script tag's build carries socket.io-client as `Surewire.io`, and
// `Surewire.socketIo` turns it into a transport. Compared with /cdn/chat.js, only two things change: the
// URL (the socket.io server: this page's origin, namespace /) and the `transport` option.
const ui = ChatUI.mount();

const delivery = Surewire.reliable();
const chat = new Surewire(location.origin, {
  transport: Surewire.socketIo(Surewire.io, ui.chaos ? { query: { chaos: '1' } } : {}),
  reliable: delivery,
  // Back soon after a drop: a connection that lasted 1.5 s counts as stable and resets the backoff.
  reconnect: { initialDelay: 500, maxDelay: 5000, stableAfter: 1500 },
  // A ping every 2 s, so the page shows the round trip soon (over socket.io, engine.io's own ping rules).
  heartbeat: { interval: 2000 },
  // This tab's storage, one key per page: after a reload, the session and unacknowledged messages carry on
  // (text frames: over socket.io, where frames are packets, the session only).
  queue: { storage: ui.storage, key: ui.storageKey },
});

chat.connection.subscribe(ui.showConnection);
chat.on('history', ui.showHistory);
chat.on('message', ui.showMessage);
chat.on('typing', ui.showTyping);

const join = () => chat.send('join', ui.room, ui.nick);
join();
// The server lost what it knew of us (it restarted): join again, and get the room's history again.
delivery.on('discontinuity', join);
ui.onNick(join);

ui.onSend((text) => chat.send('message', text));
// "Typing…" is only news now: not worth queueing while offline.
ui.onTyping(() => chat.connection.state == 'open' && chat.send('typing'));
