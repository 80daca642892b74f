// The stored shape of the bench's seeded tokens, shared by the bench (which inserts them) and bench:memory (which loads them).

/** Token number `i` of a seeded set: every tenth disabled, every seventh created by a second admin. */
export function seededToken(i, { id, at, secretDigest, secretHash }) {
  return {
    _id: id,
    name: `seed-${i}`,
    secretDigest,
    secretHash,
    isDisabled: i % 10 === 0,
    rateLimit: null,
    createdBy: i % 7 === 0 ? 'carol' : 'seed',
    createdAt: at,
    lastModifiedBy: 'seed',
    lastModified: at,
    deletingSince: null,
  };
}
