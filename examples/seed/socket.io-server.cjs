// The same server over socket.io, in socket.io's own convention: `socket.send(x)` emits the event `message`,
// on both sides. It logs every message it receives and greets each client with `Hello World!`.
// Port: `PORT` (default 8081).
//   node examples/seed/socket.io-server.cjs
const { Server } = require('socket.io');

// Any page may connect, as to the WebSocket server beside it (a WebSocket server knows no CORS at all): the
// demo's pages come from another port (3000), and socket.io's HTTP long-polling needs CORS for that.
const io = new Server(Number(process.env.PORT) || 8081, { cors: { origin: '*' } });

io.on('connection', (socket) => {
  socket.on('message', (message) => {
    console.log('received: %s', message);
  });

  socket.send('Hello World!');
});
