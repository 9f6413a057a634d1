// The same chat page with surewire: the server and its { type, payload } format are unchanged.
const $ = (id) => document.getElementById(id);
const chaos = new URLSearchParams(location.search).get('chaos') === '1';
const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/legacy' + (chaos ? '?chaos=1' : '');
if (!$('nick').value) $('nick').value = 'guest-' + Math.random().toString(36).slice(2, 6);
const nick = () => $('nick').value.trim() || 'guest';

// The status line: state, countdown to the next attempt, outbox length, round trip ("–": unknown).
let ticking;
function paint({ state, retryAt, queued, rtt }) {
  $('state').textContent = state;
  $('state').className = state;
  $('queued').textContent = queued == null ? '–' : String(queued);
  $('rtt').textContent = rtt == null ? '–' : rtt + ' ms';
  clearInterval(ticking);
  const tick = () => ($('countdown').textContent = retryAt ? `retry in ${Math.max(0, Math.ceil((retryAt - Date.now()) / 1000))} s` : '');
  tick();
  if (retryAt) ticking = setInterval(tick, 250);
}

// The connection, by surewire: backoff with jitter, an outbox while offline, a heartbeat that finds
// dead connections. A codec translates its packets { event, args } to and from { type, payload }.
const codec = {
  encode({ event, args, id }) {
    if (id != null || args.length > 1) throw new TypeError('{ type, payload } carries one payload and no request id');
    return JSON.stringify({ type: event, payload: args[0] });
  },
  decode(frame) {
    const { type, payload } = JSON.parse(frame);
    if (typeof type !== 'string') throw new TypeError('expected { "type": …, "payload": … }');
    return { event: type, args: payload === undefined ? [] : [payload] };
  },
};
// The server wants "hello" first on every connection, and the outbox goes out as soon as a socket opens
// (before any `open` listener runs): so the hello is sent by the transport, just ahead of the outbox.
const helloFirst = {
  connect(ctx) {
    const socket = Surewire.webSocket.connect({
      ...ctx,
      open: () => (socket.send(codec.encode({ event: 'hello', args: [{ nick: nick() }] })), ctx.open()),
    });
    return socket;
  },
};
const chat = new Surewire(url, {
  codec,
  transport: helloFirst,
  reconnect: { initialDelay: 500, maxDelay: 10000 },
  // The server's own keep-alive. The ping is a raw frame, sent as is (past the codec); pongs are not dispatched.
  heartbeat: { ping: '{"type":"ping"}', pong: (frame) => frame === '{"type":"pong"}' },
});
chat.connection.subscribe(paint);
const on = chat.on;
const send = (type, payload) => chat.connection.state === 'open' && chat.send(type, payload) === 'sent'; // now or never
const say = (text) => chat.send('say', { text }) !== 'dropped'; // offline: waits in the outbox

// The chat itself. User text reaches the page through textContent only, never as HTML.
function show({ nick, text, at }) {
  const li = document.createElement('li');
  li.dataset.nick = nick;
  const who = li.appendChild(document.createElement('span'));
  who.className = 'nick';
  who.textContent = nick;
  li.append(': ');
  const body = li.appendChild(document.createElement('span'));
  body.className = 'text';
  body.textContent = text;
  const time = li.appendChild(document.createElement('time'));
  time.dateTime = new Date(at).toISOString();
  time.textContent = new Date(at).toLocaleTimeString();
  $('messages').append(li);
  li.scrollIntoView?.({ block: 'end' });
}

let typingTimer;
on('welcome', ({ recent }) => {
  $('messages').replaceChildren();
  recent.forEach(show);
});
on('said', show);
on('typing', ({ nick }) => {
  $('typing').textContent = nick + ' is typing…';
  clearTimeout(typingTimer);
  typingTimer = setTimeout(() => ($('typing').textContent = ''), 1500);
});
on('error', ({ message }) => console.warn('server:', message));

$('form').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $('text').value.trim();
  if (text && say(text)) $('text').value = '';
});
$('nick').addEventListener('change', () => send('hello', { nick: nick() }));
let typedAt = 0;
$('text').addEventListener('input', () => {
  if (Date.now() - typedAt > 1000 && send('typing')) typedAt = Date.now();
});

$('chaos').textContent = chaos ? 'chaos: on' : 'chaos: off';
$('chaos').href = chaos ? '?' : '?chaos=1';
$('chaos').title = 'the server cuts the connection every 2–5 s';
