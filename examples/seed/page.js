// The DOM side of the two seed pages (index.html over WebSocket, socket.io.html over socket.io): a classic
// script (no build step) that defines `window.SeedPage`. It knows nothing of surewire: each page's own script
// connects and hands over what happens. Text, the server's or the user's, only ever goes in with
// `textContent`, never as HTML.
//
// The page provides, by id: #server #state #queued #error #messages #form #text.
(function () {
  'use strict';

  /**
   * Reads `?port=` (default `port`) and wires the page up. Throws, after saying so on the page, when `?port=`
   * is not a port: the page then does not connect anywhere.
   */
  function mount({ port: fallback }) {
    const $ = (id) => document.getElementById(id);
    const raw = new URLSearchParams(location.search).get('port');
    const n = Number(raw);
    const port = raw == null ? fallback : /^\d{1,5}$/.test(raw) && n >= 1 && n <= 65535 ? n : undefined;
    if (port === undefined) {
      const message = '?port= must be a port number from 1 to 65535, not "' + raw + '": the page does not connect.';
      $('error').textContent = message;
      throw new Error(message);
    }

    /** `ws://host:port` (or `http:`, `wss:`, `https:`): this page's host, the seed server's port. */
    function address(scheme) {
      const secure = location.protocol == 'https:' ? 's' : '';
      const url = scheme + secure + '://' + location.hostname + ':' + port;
      $('server').textContent = url;
      return url;
    }

    let count = 0;
    function line(who, text, note) {
      const li = document.createElement('li');
      li.dataset.nick = who;
      li.dataset.id = String(++count);
      const nick = document.createElement('span');
      nick.className = 'nick';
      nick.textContent = who;
      const body = document.createElement('span');
      body.className = 'text';
      body.textContent = text;
      li.append(nick, body);
      if (note) {
        const small = document.createElement('small');
        small.className = 'note';
        small.textContent = note;
        li.append(small);
      }
      const list = $('messages');
      list.append(li);
      list.scrollTop = list.scrollHeight;
    }

    return {
      address,
      /** A connection snapshot: its state, and how many messages wait in the queue. */
      showConnection(s) {
        $('state').textContent = s.state;
        $('state').className = s.state;
        $('queued').textContent = String(s.queued);
        if (s.state == 'open') $('error').textContent = '';
      },
      showError(e) {
        $('error').textContent = e.message;
      },
      /** A message from the server. */
      received(text) {
        line('server', String(text));
      },
      /** A message this page sent, and what `send` did with it: 'sent', 'queued' (until the next open) or 'dropped'. */
      sent(text, result) {
        line('you', text, result == 'sent' ? '' : result);
      },
      /** Calls `fn` with the input's text, exactly as typed, on Enter or Send. */
      onSend(fn) {
        $('form').addEventListener('submit', (e) => {
          e.preventDefault();
          const text = $('text').value;
          if (text === '') return;
          $('text').value = '';
          fn(text);
        });
      },
    };
  }

  window.SeedPage = { mount };
})();
