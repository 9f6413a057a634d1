// The demo chat in React 19. One surewire client per mounted <App>, made in an effect and closed by its
// cleanup; the connection's status comes from useConnection (useSyncExternalStore), server events from
// useEvent. Everything the user typed is rendered as JSX text, which React escapes: never as HTML.
import { StrictMode, useEffect, useRef, useState, type FormEvent } from 'react';
import { createRoot } from 'react-dom/client';
import { Surewire, reliable, type Reliable } from 'surewire';
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

type Chat = Surewire<ServerEvents, ClientEvents>;

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

/** Makes the client when mounted and closes it when unmounted (also right, under StrictMode's double mount). */
function App() {
  const [client, setClient] = useState<{ chat: Chat; delivery: Reliable } | null>(null);
  useEffect(() => {
    const delivery = reliable();
    const chat: Chat = new Surewire<ServerEvents, ClientEvents>(url, {
      reliable: delivery,
      reconnect: { initialDelay: 500, maxDelay: 10000 },
      heartbeat: { interval: 5000 },
      queue: storage ? { storage, key: 'surewire-demo:react' } : {},
    });
    setClient({ chat, delivery });
    return () => chat.close();
  }, []);
  return client && <ChatRoom chat={client.chat} delivery={client.delivery} />;
}

function ChatRoom({ chat, delivery }: { chat: Chat; delivery: Reliable }) {
  const [nick, setNick] = useState(() => storage?.getItem(NICK_KEY) || `guest-${Math.random().toString(36).slice(2, 6)}`);
  const [text, setText] = useState('');
  const [messages, setMessages] = useState<ChatMessage[]>([]);
  const [typing, setTyping] = useState('');
  const joined = useRef('');
  const typedAt = useRef(0);
  const typingTimer = useRef<ReturnType<typeof setTimeout>>(undefined);
  const list = useRef<HTMLOListElement>(null);

  // The server answers a join with the room's history and keeps the session (and its room) across
  // reconnects: joining again is needed only for a new nick, or when the server lost what we saw.
  const join = (name: string): void => {
    joined.current = name;
    chat.send('join', room, name);
  };
  useEffect(() => join(cleanNick(nick)), [chat]);
  // The server restarted and forgot us: join again, and get the room's history again.
  useEffect(() => delivery.on('discontinuity', () => join(joined.current)), [delivery]);

  // Each join brings the room's recent messages: they replace what is on screen. Each id is shown once.
  useEvent(chat, 'history', (history) => setMessages(history));
  useEvent(chat, 'message', (message) => {
    setMessages((all) => (all.some((m) => m.id === message.id) ? all : [...all, message]));
  });
  useEvent(chat, 'typing', ({ nick: who }) => {
    setTyping(who);
    clearTimeout(typingTimer.current);
    typingTimer.current = setTimeout(() => setTyping(''), 3000);
  });
  useEffect(() => () => clearTimeout(typingTimer.current), []);
  useEffect(() => {
    if (list.current) list.current.scrollTop = list.current.scrollHeight;
  }, [messages]);

  const commitNick = (): string => {
    const name = cleanNick(nick);
    setNick(name);
    storage?.setItem(NICK_KEY, name);
    if (name !== joined.current) join(name);
    return name;
  };
  const submit = (event: FormEvent): void => {
    event.preventDefault();
    if (!text.trim()) return;
    commitNick();
    chat.send('message', text);
    setText('');
  };
  const input = (value: string): void => {
    setText(value);
    // "Typing…" is only news now: not worth queueing while offline, and once every 2 s is enough.
    if (chat.connection.state === 'open' && Date.now() - typedAt.current > 2000) {
      typedAt.current = Date.now();
      chat.send('typing');
    }
  };

  return (
    <>
      <header>
        <h1>
          surewire chat <small>React</small>
        </h1>
        <nav>
          <a href="/">all demos</a>
          <a id="chaos" href={chaosHref} className={chaos ? 'on' : undefined}>
            {chaos ? 'chaos: on (turn off)' : 'chaos: off (turn on)'}
          </a>
        </nav>
      </header>
      <Status chat={chat} />
      <ol id="messages" ref={list}>
        {messages.map((m) => {
          const at = new Date(m.at);
          return (
            <li key={m.id} data-nick={m.nick} data-id={m.id} className={m.nick === joined.current ? 'mine' : undefined}>
              <span className="nick">{m.nick}</span>
              <span className="text">{m.text}</span>
              <time dateTime={at.toISOString()}>{at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}</time>
            </li>
          );
        })}
      </ol>
      <p id="typing" aria-live="polite">
        {typing && `${typing} is typing…`}
      </p>
      <form id="form" onSubmit={submit}>
        <input id="nick" value={nick} onChange={(e) => setNick(e.target.value)} onBlur={commitNick} maxLength={32} autoComplete="nickname" aria-label="Your nickname" />
        <input id="text" value={text} onChange={(e) => input(e.target.value)} maxLength={2000} autoComplete="off" placeholder="Say something" aria-label="Message" />
        <button id="send">Send</button>
      </form>
    </>
  );
}

/** The only component that re-renders on connection changes: state, reconnect countdown, outbox length, round trip. */
function Status({ chat }: { chat: Chat }) {
  const { state, reason, retryAt, queued, rtt } = useConnection(chat);
  const seconds = useCountdown(state === 'reconnecting' ? retryAt : null);
  return (
    <p id="status" aria-live="polite">
      <span id="state" className={state} title={reason}>
        {state}
      </span>{' '}
      <span id="countdown">{seconds === null ? '' : `retry in ${seconds} s`}</span> · outbox <span id="queued">{queued}</span> · rtt{' '}
      <span id="rtt">{rtt === null ? '–' : `${Math.round(rtt)} ms`}</span> · room <b id="room">{room}</b>
    </p>
  );
}

/** Whole seconds left until `at` (epoch ms), ticking; null when there is nothing to wait for. */
function useCountdown(at: number | null): number | null {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    if (at === null) return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), 200);
    return () => clearInterval(timer);
  }, [at]);
  return at === null ? null : Math.max(0, Math.ceil((at - now) / 1000));
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
