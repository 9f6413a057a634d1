// Fault injection over the socket.io transport (socket.io-client, `transports: ['websocket']`); see suite.ts.
import { faultSuite } from './suite';

faultSuite('socket.io');
