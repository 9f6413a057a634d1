// The seed chat's page on surewire. Its server (server.cjs) is unchanged: it speaks bare text frames, so the
// client reads and writes them with `textCodec`: a text frame is the event `message`, and
// `send('message', text)` sends the text as it is. The DOM side is in page.js.
const page = SeedPage.mount({ port: 8080 });

const chat = new Surewire(page.address('ws'), { codec: Surewire.textCodec });

chat.connection.subscribe(page.showConnection);
chat.connection.on('error', page.showError);

// The greeting, `Hello World!`, on every (re)connection.
chat.on('message', page.received);

// Sent now when open; otherwise queued, and sent in order right after the next open.
const say = (text) => page.sent(text, chat.send('message', text));
say('hello server!');
page.onSend(say);
