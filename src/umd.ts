// The browser-global entry: `Surewire` is the client class, carrying the rest of the API as properties,
// so a page with one script tag writes `new Surewire(url)` and `Surewire.ClosedError`.
import * as api from './index';

export default Object.assign(api.Surewire, api);
