// Parses admin JSON bodies within a size limit (a larger one for imports), and accepts a body the host already parsed.
import express, { type RequestHandler } from 'express';
import { AdminError } from '../errors';
import { alreadyRead } from '../endpoint/read-body';

export function jsonBody(limitBytes: number, importLimitBytes = limitBytes): RequestHandler {
  const parseAny = express.json({ limit: limitBytes, strict: true, type: () => true });
  const parseImport = express.json({ limit: importLimitBytes, strict: true, type: () => true });
  return (req, res, next) => {
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    if (!hasBody) {
      req.body ??= {};
      next();
      return;
    }
    if (!req.is('application/json')) {
      next(AdminError.of('UnsupportedMediaType', 'Send the body as Content-Type: application/json.'));
      return;
    }
    const isImport = req.method === 'POST' && req.path === '/import';
    if (alreadyRead(req)) {
      // The host's parser read it under the host's limit; ours still holds, as far as the size can be known now.
      const declared = Number(req.headers['content-length'] ?? NaN);
      const size = Number.isFinite(declared) ? declared : Buffer.byteLength(JSON.stringify(req.body) ?? '');
      if (size > (isImport ? importLimitBytes : limitBytes)) next(AdminError.of('PayloadTooLarge', 'The body is too large.'));
      else next();
      return;
    }
    (isImport ? parseImport : parseAny)(req, res, next);
  };
}
