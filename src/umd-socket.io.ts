// The browser-global entry with socket.io: like umd.ts (`Surewire` is the client class carrying the whole
// API), plus `Surewire.socketIo` and socket.io-client's `Surewire.io`, inlined by this build:
//   new Surewire(url, { transport: Surewire.socketIo(Surewire.io, { auth: { token } }) })
import { io } from 'socket.io-client';
import * as api from './index';
import { socketIo } from './transports/socketio';

export default Object.assign(api.Surewire, api, { socketIo, io });
