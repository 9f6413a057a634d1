// The demo chat in Vue 3, with defineComponent and h() render functions: no SFC, no template compiler, so the
// runtime-only build runs under `script-src 'self'`. One surewire client per mounted component, closed when
// it unmounts; the status comes from useConnection (a shallowRef). User text is rendered as text children,
// which Vue sets as text: never as HTML.
import { createApp, defineComponent, h, onScopeDispose, ref, shallowRef, watch } from 'vue';
import { Surewire, reliable } from 'surewire';
import { useConnection, useEvent } from './use-connection';

/** A chat message as the demo server stores and sends it. */
interface ChatMessage {
  id: string | number;
  room: string;
  nick: string;
  text: string;
  at: number;
}

/** Server → client: `message` and `history` through the reliable protocol, `typing` volatile, `presence` optional. */
interface ServerEvents {
  message: (message: ChatMessage) => void;
  history: (messages: ChatMessage[]) => void;
  typing: (who: { nick: string }) => void;
  presence: (presence: { room: string; nicks: string[] }) => void;
}

/** Client → server, each one sent reliably (exactly once, in order, across reconnects). */
interface ClientEvents {
  join: (room: string, nick: string) => void;
  message: (text: string) => void;
  typing: () => void;
}

const query = new URLSearchParams(location.search);
const room = clip(query.get('room') ?? '', 32) || 'lobby';
// `?chaos=1`: the server cuts this page's connection every 2–5 s, and nothing gets lost. The link toggles it.
const chaos = query.get('chaos') === '1';
const url = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws${chaos ? '?chaos=1' : ''}`;
const chaosHref = (() => {
  const q = new URLSearchParams(location.search);
  if (chaos) q.delete('chaos');
  else q.set('chaos', '1');
  const search = q.toString();
  return location.pathname + (search ? `?${search}` : '');
})();
document.body.classList.toggle('chaos', chaos);

/** This tab's sessionStorage (a reload keeps the nick, the session and the unacknowledged messages), if usable. */
const storage = ((): Storage | undefined => {
  try {
    sessionStorage.setItem('surewire-demo:probe', '1');
    sessionStorage.removeItem('surewire-demo:probe');
    return sessionStorage;
  } catch {
    return undefined;
  }
})();
const NICK_KEY = 'surewire-demo:nick';
const cleanNick = (nick: string): string => clip(nick, 32) || 'anonymous';

/** Trimmed, at most `max` characters (whole code points): the server's own rule. */
function clip(text: string, max: number): string {
  return Array.from(text.trim()).slice(0, max).join('').trim();
}

const valueOf = (event: Event): string => (event.target as HTMLInputElement).value;

const Chat = defineComponent({
  name: 'SurewireChat',
  setup() {
    const delivery = reliable();
    const chat = new Surewire<ServerEvents, ClientEvents>(url, {
      reliable: delivery,
      reconnect: { initialDelay: 500, maxDelay: 10000 },
      heartbeat: { interval: 5000 },
      queue: storage ? { storage, key: 'surewire-demo:vue' } : {},
    });
    const connection = useConnection(chat);
    // After useConnection, so that its subscription ends first: once unmounted, nothing is left alive.
    onScopeDispose(() => chat.close());

    const nick = ref(storage?.getItem(NICK_KEY) || `guest-${Math.random().toString(36).slice(2, 6)}`);
    const text = ref('');
    const messages = shallowRef<ChatMessage[]>([]);
    const typing = ref('');
    const list = ref<HTMLOListElement | null>(null);
    let joined = '';
    let typedAt = 0;
    let typingTimer: ReturnType<typeof setTimeout> | undefined;

    // The server answers a join with the room's history and keeps the session (and its room) across
    // reconnects: joining again is needed only for a new nick, or when the server lost what we saw.
    const join = (name: string): void => {
      joined = name;
      chat.send('join', room, name);
    };
    join(cleanNick(nick.value));
    // The server restarted and forgot us: join again, and get the room's history again.
    onScopeDispose(delivery.on('discontinuity', () => join(joined)));

    // Each join brings the room's recent messages: they replace what is on screen. Each id is shown once.
    useEvent(chat, 'history', (history) => (messages.value = history));
    useEvent(chat, 'message', (message) => {
      if (!messages.value.some((m) => m.id === message.id)) messages.value = [...messages.value, message];
    });
    useEvent(chat, 'typing', ({ nick: who }) => {
      typing.value = who;
      clearTimeout(typingTimer);
      typingTimer = setTimeout(() => (typing.value = ''), 3000);
    });
    onScopeDispose(() => clearTimeout(typingTimer));
    watch(messages, () => list.value && (list.value.scrollTop = list.value.scrollHeight), { flush: 'post' });

    // The reconnect countdown ticks only while a retry is waiting.
    const now = ref(Date.now());
    watch(
      () => (connection.value.state === 'reconnecting' ? connection.value.retryAt : null),
      (at, _, onCleanup) => {
        if (at === null) return;
        now.value = Date.now();
        const timer = setInterval(() => (now.value = Date.now()), 200);
        onCleanup(() => clearInterval(timer));
      },
      { immediate: true },
    );

    const commitNick = (): void => {
      const name = cleanNick(nick.value);
      nick.value = name;
      storage?.setItem(NICK_KEY, name);
      if (name !== joined) join(name);
    };
    const submit = (event: Event): void => {
      event.preventDefault();
      if (!text.value.trim()) return;
      commitNick();
      chat.send('message', text.value);
      text.value = '';
    };
    const input = (event: Event): void => {
      text.value = valueOf(event);
      // "Typing…" is only news now: not worth queueing while offline, and once every 2 s is enough.
      if (chat.connection.state === 'open' && Date.now() - typedAt > 2000) {
        typedAt = Date.now();
        chat.send('typing');
      }
    };

    const status = () => {
      const { state, reason, retryAt, queued, rtt } = connection.value;
      const seconds = state === 'reconnecting' && retryAt !== null ? Math.max(0, Math.ceil((retryAt - now.value) / 1000)) : null;
      return h('p', { id: 'status', 'aria-live': 'polite' }, [
        h('span', { id: 'state', class: state, title: reason }, state),
        ' ',
        h('span', { id: 'countdown' }, seconds === null ? '' : `retry in ${seconds} s`),
        ' · outbox ',
        h('span', { id: 'queued' }, String(queued)),
        ' · rtt ',
        h('span', { id: 'rtt' }, rtt === null ? '–' : `${Math.round(rtt)} ms`),
        ' · room ',
        h('b', { id: 'room' }, room),
      ]);
    };
    const item = (m: ChatMessage) => {
      const at = new Date(m.at);
      return h('li', { key: m.id, 'data-nick': m.nick, 'data-id': m.id, class: m.nick === joined ? 'mine' : undefined }, [
        h('span', { class: 'nick' }, m.nick),
        h('span', { class: 'text' }, m.text),
        h('time', { datetime: at.toISOString() }, at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })),
      ]);
    };

    return () => [
      h('header', [
        h('h1', ['surewire chat ', h('small', 'Vue')]),
        h('nav', [
          h('a', { href: '/' }, 'all demos'),
          h('a', { id: 'chaos', href: chaosHref, class: chaos ? 'on' : undefined }, chaos ? 'chaos: on (turn off)' : 'chaos: off (turn on)'),
        ]),
      ]),
      status(),
      h('ol', { id: 'messages', ref: list }, messages.value.map(item)),
      h('p', { id: 'typing', 'aria-live': 'polite' }, typing.value ? `${typing.value} is typing…` : ''),
      h('form', { id: 'form', onSubmit: submit }, [
        h('input', {
          id: 'nick',
          value: nick.value,
          onInput: (e: Event) => (nick.value = valueOf(e)),
          onChange: commitNick,
          maxlength: 32,
          autocomplete: 'nickname',
          'aria-label': 'Your nickname',
        }),
        h('input', {
          id: 'text',
          value: text.value,
          onInput: input,
          maxlength: 2000,
          autocomplete: 'off',
          placeholder: 'Say something',
          'aria-label': 'Message',
        }),
        h('button', { id: 'send' }, 'Send'),
      ]),
    ];
  },
});

createApp(Chat).mount('#app');
