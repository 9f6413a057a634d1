// The API reference (`npm run docs` → docs/api/, not committed), built from the TSDoc comments of the
// package's entries. It fails on any warning: an undocumented export, a type that is referenced but not
// exported, a broken {@link}.
import { Converter, ReflectionKind } from 'typedoc';

/** One line per entry of package.json's `exports`. */
const entryPoints = [
  'src/index.ts', // surewire
  'src/socket.io.ts', // surewire/socket.io
  'src/server/index.ts', // surewire/server
  'src/server/redis.ts', // surewire/server/redis
  'src/share.ts', // surewire/share
];

// TypeDoc names each entry by its path under src/ ("index", "socket.io", "server"); users know them by
// their import specifier, so the reference uses that ("surewire", "surewire/socket.io", "surewire/server").
function importNames(app) {
  app.converter.on(Converter.EVENT_CREATE_DECLARATION, (_context, reflection) => {
    if (reflection.kindOf(ReflectionKind.Module))
      reflection.name = reflection.name == 'index' ? 'surewire' : `surewire/${reflection.name.replace(/\/index$/, '')}`;
  });
}

/** @type {Partial<import('typedoc').TypeDocOptions>} */
export default {
  name: 'surewire',
  entryPoints,
  tsconfig: 'tsconfig.build.json',
  out: 'docs/api',
  readme: 'none',
  plugin: [importNames],
  // No links to a source host: the reference must build the same in any clone, with or without a remote.
  disableSources: true,
  excludePrivate: true,
  excludeInternal: true,
  treatWarningsAsErrors: true,
  validation: { notExported: true, invalidLink: true, invalidPath: true, rewrittenLink: true, notDocumented: true, unusedMergeModuleWith: true },
  requiredToBeDocumented: ['Enum', 'EnumMember', 'Variable', 'Function', 'Class', 'Interface', 'Property', 'Method', 'Accessor', 'TypeAlias'],
  // Members in src/reliable.ts and src/server/, which are being reworked elsewhere: each line goes once its
  // comment is written. An entry that is no longer needed is itself a warning, so this list cannot go stale.
  intentionallyNotDocumented: [
    'surewire.Reliable.on',
    'surewire.Reliable.off',
    'surewire/server.ReliableServerOptions.heartbeat.__type.ping',
    'surewire/server.ReliableServerOptions.heartbeat.__type.pong',
    'surewire/server.StoredMessage.event',
    'surewire/server.StoredMessage.args',
    'surewire/server.WsSocket.readyState',
    'surewire/server.WsSocket.send',
    'surewire/server.WsSocket.close',
    'surewire/server.WsSocket.on',
    'surewire/server.SocketIoSocket.emit',
    'surewire/server.SocketIoSocket.use',
    'surewire/server.SocketIoSocket.on',
    'surewire/server.SocketIoSocket.disconnect',
    'surewire/server.SocketIoSocket.conn.__type.close',
    'surewire/server.SocketIoSocket.nsp.__type.server',
    'surewire/server.SocketIoSocket.nsp.__type.server.__type._opts',
    'surewire/server.SocketIoSocket.nsp.__type.server.__type._opts.__type.connectionStateRecovery',
  ],
};
