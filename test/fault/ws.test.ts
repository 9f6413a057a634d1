// Fault injection over the native WebSocket transport (the `ws` package's WebSocket in Node); see suite.ts.
import { faultSuite } from './suite';

faultSuite('ws');
