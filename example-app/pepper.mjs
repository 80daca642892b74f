// The pepper comes from UDAPI_PEPPER; for a demo without it, one is generated once and kept in example-app/.data.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export function loadPepper({ dataDir, log }) {
  if (process.env.UDAPI_PEPPER) return process.env.UDAPI_PEPPER;
  const file = path.join(dataDir, 'pepper');
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600 });
  }
  log.warn(
    { file },
    'UDAPI_PEPPER is not set: using a demo pepper kept next to the data. In production keep the pepper outside the database host.',
  );
  return readFileSync(file, 'utf8').trim();
}
