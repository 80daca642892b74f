// Counts failed admin sign-ins per client address, so that password guessing costs the server no more than a few
// bcrypt comparisons a minute per address.

import { isIPv6 } from 'node:net';

/**
 * The key a client is counted under: an IPv4 address as it is, an IPv6 one by its /64, which one client usually
 * holds whole and could otherwise spread its guesses over (as the package's own failedAuthThrottle does).
 */
export function clientKeyOf(address) {
  const bare = address.split('%')[0];
  if (!isIPv6(bare)) return address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  if (mapped) return mapped[1];
  const [head, tail] = bare.split('::');
  const headParts = head ? head.split(':') : [];
  const tailParts = tail ? tail.split(':') : [];
  // An embedded IPv4 tail (a:b::1.2.3.4) only ever sits in the low 64 bits, so counting it as one group is harmless.
  const parts =
    tail === undefined
      ? headParts
      : [...headParts, ...Array(8 - headParts.length - tailParts.length).fill('0'), ...tailParts];
  return `${parts
    .slice(0, 4)
    .map((part) => parseInt(part, 16).toString(16))
    .join(':')}::/64`;
}

/**
 * At most `maxFailures` failed sign-ins per client in any `windowMs`. An attempt is charged before its bcrypt
 * comparison runs and refunded when it succeeds, so concurrent guesses cannot all slip in before the first fails.
 *
 * Memory is bounded: each client keeps at most `maxFailures` times, expired ones are dropped as they are met, and
 * at most `maxClients` clients are tracked. When that many are failing at once (an attack from many addresses),
 * every further address shares one overflow entry: they are throttled together rather than not at all.
 */
export function loginThrottle({ maxFailures = 10, windowMs = 60_000, maxClients = 10_000, now = Date.now } = {}) {
  /** client → times of its recent failures (and charged attempts), oldest first. */
  const failures = new Map();
  const OVERFLOW = '(every other address)';
  let lastSweep = 0;

  /** The client's failures still inside the window; forgets the client once it has none. */
  const recent = (client) => {
    const times = failures.get(client);
    if (!times) return [];
    const cutoff = now() - windowMs;
    while (times.length > 0 && times[0] <= cutoff) times.shift();
    if (times.length === 0) failures.delete(client);
    return times;
  };

  /** Where a client's failures are counted: its own entry, or the shared one when the map is full of live entries. */
  const entryOf = (client) => {
    if (failures.has(client) || failures.size < maxClients) return client;
    // A sweep walks every entry: at most one a second, however many new addresses come.
    if (now() - lastSweep >= 1000) {
      lastSweep = now();
      for (const key of [...failures.keys()]) recent(key);
    }
    return failures.size < maxClients ? client : OVERFLOW;
  };

  return {
    /** Whole seconds until the client may try again; 0 when it may try now. */
    retryAfterSeconds(client) {
      const times = recent(entryOf(client));
      if (times.length < maxFailures) return 0;
      return Math.max(1, Math.ceil((times[0] + windowMs - now()) / 1000));
    },

    /**
     * Counts an attempt as failed until `refund` is called with what this returns; null when the client has no
     * attempt left (then nothing is counted and the caller answers 429 without checking the password).
     */
    charge(client) {
      const entry = entryOf(client);
      const times = recent(entry);
      if (times.length >= maxFailures) return null;
      const time = now();
      if (times.length === 0) failures.set(entry, times);
      times.push(time);
      return { entry, time };
    },

    /** Takes back a charged attempt that succeeded. A success does not forgive earlier failures: viewer/viewer is public. */
    refund(charged) {
      const times = failures.get(charged.entry);
      const index = times ? times.indexOf(charged.time) : -1;
      if (index >= 0) times.splice(index, 1);
      if (times && times.length === 0) failures.delete(charged.entry);
    },

    /** How many clients are tracked (for tests of the memory bound). */
    get size() {
      return failures.size;
    },
  };
}
