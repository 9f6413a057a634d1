// The chat with no build step: the script tag defined the global `Surewire` (the client class, carrying
// the rest of the API, `Surewire.reliable` included). The DOM side is in /common/chat-ui.js.
const ui = ChatUI.mount();

const delivery = Surewire.reliable();
const chat = new Surewire(ui.wsUrl('/ws'), {
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
