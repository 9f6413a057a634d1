// The `surewire/socket.io` entry: the socket.io transport. socket.io-client itself is the app's
// (an optional peer dependency): pass its `io` to `socketIo`.
export { socketIo, type SocketIoOptions, type SocketIoAuth, type SocketIoAuthData, type SocketIoFactory } from './transports/socketio';
