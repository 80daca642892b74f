// Finds sensitive values (secrets, digests) and any bcrypt hash in texts; the leak scan's search, kept pure for its own test.

/** A bcrypt hash in any variant: nothing outside the database may ever show one. */
const BCRYPT_HASH = /\$2[abxy]\$\d\d\$[./A-Za-z0-9]{53}/;
/** Runs of the characters secrets and digests are made of; a leaked value always lies inside one run. */
const SECRET_RUN = /[A-Za-z0-9_\-.=+/]{32,}/g;

/** One line per leak: where it is, what it is, and the start of the text with the value masked. */
export function leaksIn(texts: { kind: string; text: string }[], sensitive: Map<string, string>): string[] {
  const leaks: string[] = [];
  for (const { kind, text } of texts) {
    if (BCRYPT_HASH.test(text)) leaks.push(`${kind} shows a bcrypt hash: ${text.slice(0, 120)}…`);
    for (const run of new Set(text.match(SECRET_RUN) ?? [])) {
      for (const [value, what] of sensitive) {
        if (run.includes(value)) leaks.push(`${kind} shows ${what}: ${text.slice(0, 120).replace(value, '[…]')}…`);
      }
    }
  }
  return leaks;
}

/** Masks the digest and hash fields of a backup (GET /export, `udapi export`); everything else is still scanned. */
export function maskBackupFields(text: string): string {
  return text.replace(/"(secretDigest|secretHash|previousSecretDigest|previousSecretHash)":"[^"]*"/g, '"$1":"[backup field]"');
}
