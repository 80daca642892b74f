// Finds sensitive values (secrets, digests) and any bcrypt hash in texts; the leak scan's search, kept pure for its own test.

/** A bcrypt hash in any variant: nothing outside the database may ever show one. */
const BCRYPT_HASH = /\$2[abxy]\$\d\d\$[./A-Za-z0-9]{53}/;
/** Runs of the characters secrets and digests are made of; a leaked value always lies inside one run. */
const SECRET_RUN = /[A-Za-z0-9_\-.=+/]{32,}/g;

/** The JSON field (`"name":`) nearest before a position, or null when the text shows none there. */
export function fieldBefore(text: string, index: number): string | null {
  const match = /"([^"\\]{1,64})"\s*:\s*[^:]*$/.exec(text.slice(Math.max(0, index - 2000), index));
  return match ? match[1]! : null;
}

/**
 * One line per leak: where it is (the text's start, for a response its method and URL), what it is, the JSON field
 * it sits in when there is one, and the text around it, with the value itself masked.
 */
export function leaksIn(texts: { kind: string; text: string }[], sensitive: Map<string, string>): string[] {
  const leaks: string[] = [];
  for (const { kind, text } of texts) {
    const at = BCRYPT_HASH.exec(text);
    if (at)
      leaks.push(
        `${kind} shows a bcrypt hash${inField(text, at.index)}: ${text.slice(0, 120).replace(BCRYPT_HASH, '[…]')}…`,
      );
    for (const run of new Set(text.match(SECRET_RUN) ?? [])) {
      for (const [value, what] of sensitive) {
        if (!run.includes(value)) continue;
        const index = text.indexOf(value);
        const around = text.slice(Math.max(0, index - 60), index + value.length + 60).replace(value, '[…]');
        leaks.push(
          `${kind} shows ${what}${inField(text, index)}: ${text.slice(0, 120).replace(value, '[…]')}… (around it: …${around}…)`,
        );
      }
    }
  }
  return leaks;
}

function inField(text: string, index: number): string {
  const field = fieldBefore(text, index);
  return field === null ? '' : ` in field "${field}"`;
}

/** Masks the digest and hash fields of a backup (GET /export, `udapi export`); everything else is still scanned. */
export function maskBackupFields(text: string): string {
  return text.replace(
    /"(secretDigest|secretHash|previousSecretDigest|previousSecretHash)":"[^"]*"/g,
    '"$1":"[backup field]"',
  );
}
