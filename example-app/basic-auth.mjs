// HTTP Basic authentication of the example app's admin users, whose passwords are stored as bcrypt hashes.
import { createHash, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcrypt';
import { clientKeyOf, loginThrottle } from './login-throttle.mjs';

const USER = Symbol('example.adminUser');

/**
 * Signs admin users in with HTTP Basic. `middleware` runs before everything admin-only: it challenges browsers,
 * refuses a client with too many failed sign-ins (429), and verifies the credentials once; `authenticateAdmin`
 * (the plugin's option) then reads the user it found.
 *
 * Each failed sign-in costs a bcrypt comparison, so failures are throttled per client address (see
 * login-throttle.mjs: 10 a minute by default, an IPv6 client by its /64). A throttled client gets 429 with
 * Retry-After for every admin request, correct password or not, and no password is checked: letting the remembered
 * (cached) ones through would let a throttled client keep guessing at the cost of a SHA-256, no bcrypt. A correct
 * sign-in does not clear earlier failures either (viewer/viewer is public). Behind a reverse proxy every client has
 * the proxy's address; set Express's `trust proxy` so that req.ip is the client's.
 *
 * A verified username:password pair is remembered (by its SHA-256) so that each admin request does not pay a bcrypt
 * comparison; the cache is bounded. Concurrent requests with the same credentials share one comparison.
 */
export function basicAuth(users, { realm, cacheSize = 1000, throttle = loginThrottle(), log } = {}) {
  const byName = new Map(users.map((user) => [user.name, user]));
  const verified = new Map();
  /** credential key (hex) → the comparison under way, so a page's parallel requests run bcrypt once. */
  const comparing = new Map();

  /** The user for the credentials, 'throttled' when the client has no attempt left, or null. */
  const verify = async (header, client) => {
    const match = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header);
    const decoded = match ? Buffer.from(match[1], 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    const user = colon < 0 ? undefined : byName.get(decoded.slice(0, colon));
    if (!user) {
      // No bcrypt ran, but it is a failed sign-in all the same (a guessed user name).
      return throttle.charge(client) ? null : 'throttled';
    }
    const key = createHash('sha256').update(`${user.passwordHash}\0${decoded}`).digest();
    const cached = verified.get(user.name);
    if (cached && timingSafeEqual(cached, key)) return user;

    const keyText = key.toString('hex');
    let comparison = comparing.get(keyText);
    if (!comparison) {
      const charged = throttle.charge(client);
      if (!charged) return 'throttled';
      comparison = bcrypt
        .compare(decoded.slice(colon + 1), user.passwordHash)
        .then((ok) => {
          if (ok) {
            throttle.refund(charged);
            if (verified.size >= cacheSize) verified.delete(verified.keys().next().value);
            verified.set(user.name, key);
          }
          return ok;
        })
        .finally(() => comparing.delete(keyText));
      comparing.set(keyText, comparison);
    }
    return (await comparison) ? user : null;
  };

  const tooMany = (res, seconds) => {
    res.setHeader('Retry-After', String(seconds));
    res.status(429).type('text').send(`Too many failed sign-ins from your address; try again in ${seconds} s.\n`);
  };

  const middleware = (req, res, next) => {
    const client = clientKeyOf(req.ip ?? req.socket.remoteAddress ?? 'unknown');
    const wait = throttle.retryAfterSeconds(client);
    if (wait > 0) return tooMany(res, wait);
    const header = req.headers.authorization;
    if (!header) {
      // A browser's first request comes without credentials: not a failure, a prompt to ask for them.
      res.setHeader('WWW-Authenticate', `Basic realm="${realm}", charset="UTF-8"`);
      req[USER] = null;
      return next();
    }
    verify(header, client).then((found) => {
      if (found === 'throttled') return tooMany(res, throttle.retryAfterSeconds(client) || 1);
      // The failure that used the last attempt: from here on the address gets 429 until the oldest failure ages out.
      if (!found && throttle.retryAfterSeconds(client) > 0)
        log?.warn({ client }, 'Too many failed admin sign-ins from one address: refusing it for a while');
      req[USER] = found ? { name: found.name, permissions: found.permissions } : null;
      next();
    }, next);
  };

  return {
    middleware,
    /** The plugin's authenticateAdmin: the user `middleware` verified for this request, or null. */
    authenticateAdmin: (req) => req[USER] ?? null,
  };
}
