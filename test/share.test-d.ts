import { describe, expectTypeOf, it } from 'vitest';
import { Surewire, type SendResult, type Share } from '../src/index';
import { shareTabs, type ShareOptions, type TabRole } from '../src/share';

interface ServerEvents {
  message: (m: { nick: string; text: string }) => void;
}
interface ClientEvents {
  message: (text: string) => void;
  history: (before: string, ack: (page: string[]) => void) => void;
}

describe('shareTabs()', () => {
  it('makes the share option of the client; the client it gives every tab is typed as the client', () => {
    expectTypeOf(shareTabs('chat')).toEqualTypeOf<Share>();
    expectTypeOf(shareTabs).parameter(1).toEqualTypeOf<ShareOptions | undefined>();
    const chat = new Surewire<ServerEvents, ClientEvents>('wss://x', { share: shareTabs('chat') });
    expectTypeOf(chat).toEqualTypeOf<Surewire<ServerEvents, ClientEvents>>();
    expectTypeOf(chat.send('message', 'hi')).toEqualTypeOf<SendResult>();
    chat.on('message', (m) => expectTypeOf(m).toEqualTypeOf<{ nick: string; text: string }>());
    // @ts-expect-error: a name is required
    shareTabs();
  });

  it('tells the tab its role', () => {
    shareTabs('chat', { onRole: (role) => expectTypeOf(role).toEqualTypeOf<TabRole>() });
    expectTypeOf<TabRole>().toEqualTypeOf<'leader' | 'follower' | 'alone'>();
    // @ts-expect-error: not an option
    shareTabs('chat', { heartbeat: 1000 });
  });
});
