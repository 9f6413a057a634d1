// The chat page as it was: its own WebSocket code, speaking the server's { type, payload } format.
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

// The connection, by hand: a fixed 2 s retry, a keep-alive ping, nothing sent while offline.
const handlers = {};
const on = (type, fn) => (handlers[type] = fn);
let ws;
const send = (type, payload) => {
  if (!ws || ws.readyState !== WebSocket.OPEN) return false;
  ws.send(JSON.stringify({ type, payload }));
  return true;
};
const say = (text) => send('say', { text }); // offline: not sent, the text stays in the box

function connect() {
  paint({ state: 'connecting' });
  ws = new WebSocket(url);
  ws.onopen = () => {
    paint({ state: 'open' });
    send('hello', { nick: nick() });
  };
  ws.onmessage = (e) => {
    const m = JSON.parse(e.data);
    if (handlers[m.type]) handlers[m.type](m.payload);
  };
  ws.onclose = () => {
    paint({ state: 'reconnecting', retryAt: Date.now() + 2000 });
    setTimeout(connect, 2000);
  };
}
setInterval(() => send('ping'), 25000); // so that proxies do not close an idle connection
connect();

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
