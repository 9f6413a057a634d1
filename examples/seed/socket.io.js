// The seed chat's page over socket.io: the same code as index.js but for the two lines that make the client.
// socket.io's own `socket.send(x)` is the event `message` on both sides, so `chat.send('message', x)` and
// `chat.on('message', …)` are exactly it. The DOM side is in page.js.
const page = SeedPage.mount({ port: 8081 });

const chat = new Surewire(page.address('http'), { transport: Surewire.socketIo(Surewire.io) });

chat.connection.subscribe(page.showConnection);
chat.connection.on('error', page.showError);

// socket.on('message', …): the greeting, `Hello World!`, on every (re)connection.
chat.on('message', page.received);

// socket.send(…): sent now when connected; otherwise queued, and sent in order right after the next connect.
const say = (text) => page.sent(text, chat.send('message', text));
say('hello server!');
page.onSend(say);
