// The name and description rules, as the UI checks them before sending; they mirror src/domain/validation-rules.ts
// (messages included), and the browser test compares the two on many strings, so a rule changed on one side fails CI.

const NAME_MAX_LENGTH = 200;
// Controls, line separators and bidi embeddings, overrides and isolates; bidi marks stay allowed (see the server's copy).
// eslint-disable-next-line no-control-regex
const DISPLAY_BREAKING = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;
// eslint-disable-next-line no-control-regex
const DISPLAY_BREAKING_IN_PROSE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

// In code points, as the server counts (an emoji counts once).
const characters = (text) => [...text].length;

function displayTextProblem(text, what, multiline = false) {
  const found = (multiline ? DISPLAY_BREAKING_IN_PROSE : DISPLAY_BREAKING).exec(text);
  if (!found) return null;
  const code = found[0].codePointAt(0).toString(16).toUpperCase().padStart(4, '0');
  const allowed = multiline ? ' (line feeds and tabs are fine)' : '';
  return `The ${what} must not contain control characters, line separators or bidi overrides${allowed}; found U+${code} at position ${found.index}.`;
}

/** Why a token's (required) name is unacceptable, or null. */
export function nameProblem(name) {
  if (name.trim() === '') return 'The name must not be empty or whitespace-only.';
  if (characters(name) > NAME_MAX_LENGTH) return `The name must be at most ${NAME_MAX_LENGTH} characters long.`;
  return displayTextProblem(name, 'name');
}

/** Why an API definition's (optional, '' for none) name is unacceptable, or null. */
export function optionalNameProblem(name) {
  if (name === '') return null;
  if (name.trim() === '') return 'The name may be left out, but must not be whitespace-only.';
  if (characters(name) > NAME_MAX_LENGTH) return `The name must be at most ${NAME_MAX_LENGTH} characters long.`;
  return displayTextProblem(name, 'name');
}

/** Why a description is unacceptable, or null. */
export function descriptionProblem(description) {
  return displayTextProblem(description, 'description', true);
}

const SCOPE = /^[a-z0-9:._-]{1,64}$/;
const SCOPES_MAX_COUNT = 50;

/** A scopes field: words separated by white space. */
export function scopesOf(text) {
  return text.split(/\s+/).filter((scope) => scope !== '');
}

/** Why a list of scopes is unacceptable, or null; `holder` is what carries or requires them, e.g. 'A token'. */
export function scopesProblem(scopes, holder) {
  const bad = scopes.find((scope) => !SCOPE.test(scope));
  if (bad !== undefined) return `The scope '${bad}' is not 1-64 characters of a-z 0-9 : . _ -.`;
  if (new Set(scopes).size !== scopes.length) return 'Each scope may be listed once.';
  if (scopes.length > SCOPES_MAX_COUNT) return `${holder} may have at most ${SCOPES_MAX_COUNT} scopes.`;
  return null;
}
