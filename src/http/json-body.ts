// Parses admin JSON bodies within a size limit (a larger one for imports), and accepts a body the host already parsed.
import express, { type RequestHandler } from 'express';
import { AdminError } from '../errors';

export function jsonBody(limitBytes: number, importLimitBytes = limitBytes): RequestHandler {
  const parseAny = express.json({ limit: limitBytes, strict: true, type: () => true });
  const parseImport = express.json({ limit: importLimitBytes, strict: true, type: () => true });
  return (req, res, next) => {
    if (req.body !== undefined) {
      next();
      return;
    }
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    if (!hasBody) {
      req.body = {};
      next();
      return;
    }
    if (!req.is('application/json')) {
      next(AdminError.of('UnsupportedMediaType', 'Send the body as Content-Type: application/json.'));
      return;
    }
    (req.method === 'POST' && req.path === '/import' ? parseImport : parseAny)(req, res, next);
  };
}
