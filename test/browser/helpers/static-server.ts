// A tiny HTTP server on 127.0.0.1 (ephemeral port) for the browser tests. It serves:
//   /dist/<file>      the built library, from the repo's dist/ (run `npm run build` first), or from the
//                     directory in $SUREWIRE_DIST (to test another build, e.g. an unpacked tarball's)
//   /fixtures/<file>  the pages and scripts of test/browser/fixtures/
// Every HTML page is sent with `Content-Security-Policy: script-src 'self'`, so a page can only run
// same-origin script files: no inline script, no eval. Nothing is cached. It records every request.
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
export const DIST = resolve(REPO, process.env.SUREWIRE_DIST ?? 'dist');
export const FIXTURES = resolve(REPO, 'test/browser/fixtures');

export const CSP = "script-src 'self'";

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

export interface StaticServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  /** Every request, in order: path (with query) and the status sent. */
  requests: { path: string; status: number }[];
  close(): Promise<void>;
}

export async function startStaticServer(): Promise<StaticServer> {
  const requests: StaticServer['requests'] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const done = (status: number, body: string | Buffer = '', headers: Record<string, string> = {}): void => {
      requests.push({ path: url.pathname + url.search, status });
      res.writeHead(status, { 'Cache-Control': 'no-store', ...headers }).end(body);
    };
    const root = url.pathname.startsWith('/dist/') ? DIST : url.pathname.startsWith('/fixtures/') ? FIXTURES : undefined;
    const type = TYPES[extname(url.pathname)];
    if (url.pathname == '/favicon.ico') return done(204);
    if (!root || !type || (req.method != 'GET' && req.method != 'HEAD')) return done(404, 'not found');
    const file = resolve(root, decodeURIComponent(url.pathname.replace(/^\/(dist|fixtures)\//, '')));
    if (!file.startsWith(root + sep)) return done(403, 'forbidden');
    readFile(file).then(
      (body) => done(200, body, { 'Content-Type': type, ...(type.startsWith('text/html') ? { 'Content-Security-Policy': CSP } : {}) }),
      () => done(404, 'not found'),
    );
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok());
  });
  const { port } = server.address() as { port: number };
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
