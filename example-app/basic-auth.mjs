// HTTP Basic authentication of the example app's admin users, whose passwords are stored as bcrypt hashes.
import { createHash, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcrypt';

/**
 * Returns an authenticateAdmin function for the plugin. A verified username:password pair is remembered (by its
 * SHA-256) so that each admin request does not pay a bcrypt comparison; the cache is bounded.
 */
export function basicAuthenticator(users, { cacheSize = 1000 } = {}) {
  const byName = new Map(users.map((user) => [user.name, user]));
  const verified = new Map();

  return async (req) => {
    const header = req.headers.authorization ?? '';
    const match = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header);
    if (!match) return null;
    const decoded = Buffer.from(match[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return null;
    const name = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    const user = byName.get(name);
    if (!user) return null;

    const key = createHash('sha256').update(`${user.passwordHash}\0${decoded}`).digest();
    const cached = verified.get(name);
    if (!(cached && timingSafeEqual(cached, key))) {
      if (!(await bcrypt.compare(password, user.passwordHash))) return null;
      if (verified.size >= cacheSize) verified.delete(verified.keys().next().value);
      verified.set(name, key);
    }
    return { name: user.name, permissions: user.permissions };
  };
}

/** Asks browsers for credentials when an admin request comes without them. */
export function basicChallenge(realm) {
  return (req, res, next) => {
    if (!req.headers.authorization) res.setHeader('WWW-Authenticate', `Basic realm="${realm}", charset="UTF-8"`);
    next();
  };
}
