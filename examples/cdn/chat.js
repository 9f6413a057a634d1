// A chat page with no build step: `Surewire` is the global that the script tag defined.
const nick = 'guest-' + Math.random().toString(36).slice(2, 6);
const url = (location.protocol == 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';
const chat = new Surewire(url, { reconnect: { initialDelay: 500, maxDelay: 10000 } });

const $ = (id) => document.getElementById(id);
let countdown;

// Everything on screen comes from one store: state, outbox length, round trip, next retry.
chat.connection.subscribe((s) => {
  $('state').textContent = s.state;
  $('state').className = s.state;
  $('queued').textContent = String(s.queued);
  $('rtt').textContent = s.rtt == null ? '–' : s.rtt + ' ms';
  clearInterval(countdown);
  const tick = () => ($('retry').textContent = s.retryAt ? `· retry in ${Math.max(0, Math.ceil((s.retryAt - Date.now()) / 1000))} s` : '');
  tick();
  if (s.retryAt) countdown = setInterval(tick, 250);
});

// User text goes into the page with textContent only: never parsed as HTML.
function show(m) {
  const li = document.createElement('li');
  const who = document.createElement('b');
  who.textContent = m.nick;
  li.append(who, ': ', m.text);
  $('log').append(li);
  li.scrollIntoView({ block: 'end' });
}

chat.on('message', show);
chat.on('typing', (who) => {
  if (who == nick) return;
  $('typing').textContent = who + ' is typing…';
  clearTimeout(show.typing);
  show.typing = setTimeout(() => ($('typing').textContent = ''), 1500);
});
// After every (re)connect, the server's recent history replaces what is on screen, so nothing shows twice.
chat.connection.on('open', async () => {
  const history = await chat.request('history', { timeout: 5000 }).catch(() => null);
  if (!history) return;
  $('log').replaceChildren();
  history.forEach(show);
});

$('form').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $('text').value.trim();
  if (text) chat.send('message', nick, text);
  $('text').value = '';
});
// "Typing…" is only news now: not worth queueing while offline.
$('text').addEventListener('input', () => chat.connection.state == 'open' && chat.send('typing', nick));
