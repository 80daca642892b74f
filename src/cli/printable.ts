// Escapes what the command line prints from stored data, so that no name, route or message can forge a terminal line.

/**
 * Controls (C0, DEL, C1), format characters (bidi embeddings, overrides, isolates and marks, zero-width joiners), the
 * line and paragraph separators, and lone surrogates. The admin API refuses the forging ones in new names, but data
 * stored before that rule, imported, or written to the database directly reaches the terminal through here. Format
 * characters are escaped too, though harmless ones among them exist (an emoji's joiner): in an operator's table,
 * seeing every invisible character beats a faithful rendering.
 */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;

/** The text with every unprintable character as `\xNN` (up to U+00FF) or `\u{N}`. */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (character) => {
    const code = character.codePointAt(0)!;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
  });
}

/** The same characters but the layout ones: JSON.stringify escapes every control inside a string, so a raw one is layout. */
const UNPRINTABLE_IN_JSON = /(?![\t\n\r])[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;

/**
 * JSON text (as JSON.stringify writes it) with the same characters as JSON escapes (`\u202e`), so that it parses to
 * the very same values. JSON.stringify escapes only C0 controls and lone surrogates: DEL, C1 and the bidi controls
 * would otherwise reach the terminal raw. Every match is inside a string, where an escape means the same character.
 */
export function printableJson(json: string): string {
  // An astral format character (a tag, U+E0001) becomes its surrogate pair, as JSON escapes it.
  return json.replace(UNPRINTABLE_IN_JSON, (character) =>
    Array.from(
      { length: character.length },
      (_, i) => `\\u${character.charCodeAt(i).toString(16).padStart(4, '0')}`,
    ).join(''),
  );
}
