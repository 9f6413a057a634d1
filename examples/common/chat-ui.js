// The DOM side of the demo chat pages, shared by the CDN, ESM and socket.io pages: a classic script (no
// build step, no module) that defines `window.ChatUI`. It knows nothing of surewire: each page's own
// script connects, and hands what arrives to the functions below. User text only ever goes in with
// `textContent`, never as HTML.
//
// The page provides the elements, by id: #state #countdown #queued #rtt #room #messages #typing #nick
// #text #send #chaos, and a <form id="form"> around the inputs.
(function () {
  'use strict';

  const NICK_KEY = 'surewire-demo:nick';
  const TYPING_EVERY = 2000; // ms between two typing() sends while typing
  const TYPING_SHOWN = 3000; // ms a "… is typing" line stays up

  /** sessionStorage, or undefined where it cannot be used (sandboxed frames, some privacy modes). */
  function tabStorage() {
    try {
      const s = window.sessionStorage;
      s.setItem('surewire-demo:probe', '1');
      s.removeItem('surewire-demo:probe');
      return s;
    } catch {
      return undefined;
    }
  }

  /** At most `max` characters (whole code points), trimmed: the server's own rule. */
  const clip = (s, max) => Array.from(String(s).trim()).slice(0, max).join('').trim();

  function mount() {
    const $ = (id) => {
      const el = document.getElementById(id);
      if (!el) throw new Error('ChatUI: the page has no #' + id);
      return el;
    };
    const el = {
      state: $('state'),
      countdown: $('countdown'),
      queued: $('queued'),
      rtt: $('rtt'),
      room: $('room'),
      messages: $('messages'),
      typing: $('typing'),
      nick: $('nick'),
      text: $('text'),
      send: $('send'),
      chaos: $('chaos'),
      form: $('form'),
    };
    const params = new URLSearchParams(location.search);
    const storage = tabStorage();

    // ?chaos=1: the server cuts this page's connection every few seconds. The link toggles it.
    const chaos = params.get('chaos') == '1';
    const other = new URLSearchParams(params);
    if (chaos) other.delete('chaos');
    else other.set('chaos', '1');
    const query = other.toString();
    el.chaos.href = location.pathname + (query ? '?' + query : '');
    el.chaos.textContent = chaos ? 'chaos: on (turn off)' : 'chaos: off (turn on)';
    el.chaos.classList.toggle('on', chaos);
    document.body.classList.toggle('chaos', chaos);

    // ?room=name, or the lobby.
    const room = clip(params.get('room') || '', 32) || 'lobby';
    el.room.textContent = room;

    // The nickname: kept for this tab, so a reload keeps it.
    const saved = storage && storage.getItem(NICK_KEY);
    el.nick.value = saved || 'guest-' + Math.random().toString(36).slice(2, 6);
    const nick = () => clip(el.nick.value, 32) || 'anonymous';

    // The connection: state, reconnect countdown, outbox length, round trip.
    let ticker;
    function showConnection(s) {
      el.state.textContent = s.state;
      el.state.className = s.state;
      el.queued.textContent = String(s.queued);
      el.rtt.textContent = s.rtt == null ? '–' : Math.round(s.rtt) + ' ms';
      clearInterval(ticker);
      const tick = () => {
        el.countdown.textContent =
          s.state == 'reconnecting' && s.retryAt ? 'retry in ' + Math.max(0, Math.ceil((s.retryAt - Date.now()) / 1000)) + ' s' : '';
      };
      tick();
      if (s.state == 'reconnecting' && s.retryAt) ticker = setInterval(tick, 200);
    }

    // Messages: each an <li data-nick> with the text in a child .text; each id shown once.
    const shown = new Set();
    function item(m) {
      const li = document.createElement('li');
      li.dataset.nick = m.nick;
      li.dataset.id = m.id;
      if (m.nick == nick()) li.className = 'mine';
      const who = document.createElement('span');
      who.className = 'nick';
      who.textContent = m.nick;
      const text = document.createElement('span');
      text.className = 'text';
      text.textContent = m.text;
      const when = document.createElement('time');
      const at = new Date(m.at);
      when.dateTime = at.toISOString();
      when.textContent = at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
      li.append(who, text, when);
      return li;
    }
    function add(messages) {
      const list = el.messages;
      const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
      for (const m of messages) {
        if (!m || shown.has(m.id)) continue;
        shown.add(m.id);
        list.append(item(m));
      }
      if (atBottom) list.scrollTop = list.scrollHeight;
    }
    /** The room's recent messages, sent on every join: they replace what is on screen. */
    function showHistory(messages) {
      shown.clear();
      el.messages.replaceChildren();
      add(Array.isArray(messages) ? messages : []);
    }
    function showMessage(m) {
      add([m]);
    }

    let typingTimer;
    function showTyping(t) {
      if (!t || typeof t.nick != 'string') return;
      el.typing.textContent = t.nick + ' is typing…';
      clearTimeout(typingTimer);
      typingTimer = setTimeout(() => (el.typing.textContent = ''), TYPING_SHOWN);
    }

    // What the user does.
    const sendHandlers = [];
    const nickHandlers = [];
    const typingHandlers = [];
    el.form.addEventListener('submit', (e) => {
      e.preventDefault();
      const text = el.text.value;
      if (!text.trim()) return;
      sendHandlers.forEach((fn) => fn(text));
      el.text.value = '';
      el.text.focus();
    });
    el.nick.addEventListener('change', () => {
      el.nick.value = nick();
      if (storage) storage.setItem(NICK_KEY, el.nick.value);
      nickHandlers.forEach((fn) => fn(el.nick.value));
    });
    let typedAt = 0;
    el.text.addEventListener('input', () => {
      const now = Date.now();
      if (now - typedAt < TYPING_EVERY) return;
      typedAt = now;
      typingHandlers.forEach((fn) => fn());
    });

    return {
      /** Whether the page was opened with ?chaos=1. */
      chaos,
      /** The room to join. */
      room,
      /** The nickname now. */
      get nick() {
        return nick();
      },
      /** This tab's sessionStorage (survives a reload, not shared with other tabs), or undefined. */
      storage,
      /** A storage key for this page's outbox, so that two pages of one tab do not share it. */
      storageKey: 'surewire-demo:' + location.pathname,
      /** The page's own server at `path`, over ws: or wss:, with chaos=1 when the page has it. */
      wsUrl(path) {
        return (location.protocol == 'https:' ? 'wss://' : 'ws://') + location.host + path + (chaos ? '?chaos=1' : '');
      },
      showConnection,
      showHistory,
      showMessage,
      showTyping,
      /** `fn(text)` when the user sends a message. */
      onSend: (fn) => void sendHandlers.push(fn),
      /** `fn(nick)` when the user changes the nickname. */
      onNick: (fn) => void nickHandlers.push(fn),
      /** `fn()` while the user types, at most every 2 s. */
      onTyping: (fn) => void typingHandlers.push(fn),
    };
  }

  window.ChatUI = { mount };
})();
