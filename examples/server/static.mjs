// Static files for the demo: a few URL prefixes, each mapped to one folder of the repository, and nothing
// else (the rest of the repository is not served).
import { readFile, stat } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';

const types = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * A request handler serving `routes` (URL prefix ending in `/` → absolute folder) and `files` (exact URL
 * path → absolute file). `csp` lists the prefixes (and exact paths) whose HTML pages are sent with
 * `Content-Security-Policy: script-src 'self'`.
 * Answers 404 for anything outside the folders, 405 for methods other than GET and HEAD.
 */
export function staticFiles(routes, { files = {}, csp = [] } = {}) {
  const prefixes = Object.keys(routes).sort((a, b) => b.length - a.length);
  return async (req, res) => {
    const notFound = () => res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found');
    if (req.method != 'GET' && req.method != 'HEAD') return res.writeHead(405, { allow: 'GET, HEAD' }).end();
    // `raw` stays percent-encoded, for the Location header; `path` is what names the file.
    let raw, path;
    try {
      raw = new URL(req.url ?? '/', 'http://x').pathname;
      path = decodeURIComponent(raw);
    } catch {
      return notFound();
    }
    if (path.includes('\0')) return notFound();
    // `/cdn` → `/cdn/`, so that the page's relative URLs resolve inside its folder.
    if (Object.hasOwn(routes, path + '/')) return res.writeHead(301, { location: raw + '/' }).end();
    const exact = Object.hasOwn(files, path);
    const prefix = exact ? path : prefixes.find((p) => path.startsWith(p));
    if (!prefix) return notFound();
    let file = exact ? files[path] : undefined;
    if (!exact) {
      const base = resolve(routes[prefix]);
      file = resolve(base, '.' + sep + path.slice(prefix.length));
      // `..`, once decoded (`%2e%2e%2f`), must not climb out of the folder.
      if (file != base && !file.startsWith(base + sep)) return notFound();
    }
    try {
      let info = await stat(file);
      if (info.isDirectory()) {
        if (!path.endsWith('/')) return res.writeHead(301, { location: raw + '/' }).end();
        file = resolve(file, 'index.html');
        info = await stat(file);
      }
      if (!info.isFile()) return notFound();
      const body = await readFile(file);
      const type = types[extname(file)] ?? 'application/octet-stream';
      const headers = { 'content-type': type, 'content-length': body.length, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' };
      if (type.startsWith('text/html') && csp.includes(prefix)) headers['content-security-policy'] = "script-src 'self'";
      res.writeHead(200, headers).end(req.method == 'HEAD' ? undefined : body);
    } catch {
      notFound();
    }
  };
}
