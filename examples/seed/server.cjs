// The chat server this project grew from, as written: it logs every message it receives and greets each
// client with the text frame `Hello World!`. Only its port changed, to `PORT` (default 8080).
//   node examples/seed/server.cjs
const WebSocket = require('ws');

const wss = new WebSocket.Server({ port: Number(process.env.PORT) || 8080 });

wss.on('connection', function connection(ws) {
  ws.on('message', function incoming(message) {
    console.log('received: %s', message);
  });

  ws.send('Hello World!');
});
