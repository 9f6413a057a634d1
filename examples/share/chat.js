// The CDN chat, shared by every tab of this page: the same client code, plus `share: Surewire.shareTabs(…)`
// (from surewire.share.min.js). The DOM side is in /common/chat-ui.js.
const ui = ChatUI.mount();
const role = document.getElementById('role');
const roles = {
  leader: 'this tab leads (it holds the connection)',
  follower: 'this tab follows (another tab holds the connection)',
  alone: 'this tab connects on its own (no Web Locks or BroadcastChannel here)',
};

const delivery = Surewire.reliable();
const chat = new Surewire(ui.wsUrl('/ws'), {
  share: Surewire.shareTabs('demo-chat', {
    onRole: (r) => {
      role.textContent = roles[r];
      role.className = r;
    },
  }),
  reliable: delivery,
  reconnect: { initialDelay: 500, maxDelay: 5000, stableAfter: 1500 },
  heartbeat: { interval: 2000 },
  // Shared by the tabs, and only the leading tab's client reads and writes it: after the last tab closes, the
  // next visit carries on the session and what was not delivered.
  queue: { storage: localStorage, key: 'surewire-demo:share' },
});

chat.connection.subscribe(ui.showConnection);
chat.on('history', ui.showHistory);
chat.on('message', ui.showMessage);
chat.on('typing', ui.showTyping);

const join = () => chat.send('join', ui.room, ui.nick);
join();
// Told in the tab that leads, where the reliable session lives.
delivery.on('discontinuity', join);
ui.onNick(join);

ui.onSend((text) => chat.send('message', text));
ui.onTyping(() => chat.connection.state == 'open' && chat.send('typing'));
