// Serves the admin web UI (docs/ui.md): a few static files, from memory, under a strict Content-Security-Policy.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Router, type Request, type Response } from 'express';
import { MAX_URL_PATH_LENGTH } from '../domain/route-grammar';

/** The built UI lives next to the compiled code: src/ui in development, dist/ui in the package. */
const UI_DIRECTORY = path.join(__dirname, '..', 'ui');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** No inline script or style, nothing from another origin, no framing, no form posts, no base-URI tricks. */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

interface Asset {
  body: Buffer;
  type: string;
}

function loadAssets(endpointBasePath: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const file of readdirSync(UI_DIRECTORY).filter((name) => path.extname(name) in CONTENT_TYPES)) {
    let text = readFileSync(path.join(UI_DIRECTORY, file), 'utf8');
    if (file === 'index.html') {
      // basePath is validated to [A-Za-z0-9._~-/] by the options, so it needs no escaping in an attribute.
      text = text
        .replace('%ENDPOINT_BASE_PATH%', endpointBasePath)
        .replace('%MAX_URL_PATH_LENGTH%', String(MAX_URL_PATH_LENGTH));
    }
    assets.set(file, { body: Buffer.from(text, 'utf8'), type: CONTENT_TYPES[path.extname(file)]! });
  }
  return assets;
}

/** `/ui` (redirects to `/ui/`), `/ui/` and its files. Mounted after authentication: only admins load it. */
export function adminUiRoutes(endpointBasePath: string): Router {
  const assets = loadAssets(endpointBasePath);
  const router = Router({ strict: true });
  const send = (file: string) => (_req: Request, res: Response) => {
    const asset = assets.get(file)!;
    res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.type(asset.type).send(asset.body);
  };
  router.get('/ui', (_req, res) => res.redirect(301, 'ui/'));
  router.get('/ui/', send('index.html'));
  for (const file of assets.keys()) if (file !== 'index.html') router.get(`/ui/${file}`, send(file));
  return router;
}
