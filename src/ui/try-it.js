// The try-it panel of an API: one call to its URL with a pasted secret, the answer as text, and why it was refused.
import { api, describeError } from './api-client.js';
import { byId, el, fill, showModal, showProblems } from './dom.js';

const PARAMETER = /^\{(.+)\}$/;
/** Larger answers are cut when shown: the panel is for looking, not for downloading. */
const SHOWN_CHARACTERS = 100_000;
const TIMEOUT_MS = 30_000;
/** POST /explain takes a body of at most this many characters (its schema). */
const EXPLAIN_BODY_LIMIT = 65_536;
const EXPLAIN_PERMISSION = 'UserDefinableApiTokenCreateUpdate';
/** Verdicts reached before the rate limit is looked at: for them, rateLimitChecked false says nothing. */
const BEFORE_RATE_LIMIT = new Set(['methodNotAllowed', 'emptyRoute', 'unknownSecret', 'disabled', 'expired']);

/** The names of a route's {parameters}, in order. */
export function routeParameters(route) {
  return route
    .split('/')
    .map((segment) => PARAMETER.exec(segment)?.[1])
    .filter((name) => name !== undefined);
}

/** The path to call: the route with each parameter's value encoded as one segment, and the query as typed. */
function pathOf(basePath, route, values, queryText) {
  const path = route
    .split('/')
    .map((segment) => {
      const name = PARAMETER.exec(segment)?.[1];
      return name === undefined ? segment : encodeURIComponent(values.get(name) ?? '');
    })
    .join('/');
  const search = queryText.trim().replace(/^\?/, '');
  return `${basePath}/${path}${search ? `?${search}` : ''}`;
}

/** Whether an answer is the endpoint's own refusal (its error body has codes), not a handler's 4xx of its own. */
function isEndpointError(text) {
  try {
    const data = JSON.parse(text);
    return Array.isArray(data?.errors) && data.errors.some((item) => typeof item?.errorCode === 'number');
  } catch {
    return false;
  }
}

/** JSON indented for reading, anything else as it came; always shown as text. */
function readable(text) {
  let shown = text;
  try {
    shown = JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    // Not JSON: shown as it is.
  }
  return shown.length > SHOWN_CHARACTERS
    ? `${shown.slice(0, SHOWN_CHARACTERS)}\n… (cut: ${shown.length} characters)`
    : shown;
}

function explanationOf(answer) {
  const code = answer.errorCode === null ? '' : `, code ${answer.errorCode}`;
  return [
    el('h3', {}, 'Why'),
    el('p', {}, el('strong', { id: 'try-verdict' }, answer.verdict), ` (would answer ${answer.status}${code})`),
    el('p', { id: 'try-explanation' }, answer.explanation),
    answer.token && el('p', {}, 'The secret is the token ', el('span', { class: 'name' }, answer.token.name), '.'),
    answer.inputErrors?.length > 0 &&
      el(
        'ul',
        { id: 'try-input-errors', class: 'problems' },
        answer.inputErrors.map((problem) => el('li', {}, `${problem.in}${problem.instancePath}: ${problem.message}`)),
      ),
    answer.missingScriptParameters?.length > 0 &&
      el('p', {}, `Missing parameters: ${answer.missingScriptParameters.join(', ')}`),
    !answer.rateLimitChecked &&
      !BEFORE_RATE_LIMIT.has(answer.verdict) &&
      el('p', { class: 'hint' }, 'The rate limit was not checked: this server cannot read it without counting.'),
  ];
}

/**
 * Sends one call and shows its answer. The secret goes from the input field to this call and to /explain only:
 * never to storage, the URL, the console or the admin API's other routes.
 */
async function send(call, secret, { signal, live, canExplain }) {
  const status = byId('try-status');
  const explain = byId('try-explain');
  status.textContent = 'Sending…';
  status.className = '';
  byId('try-headers').textContent = '';
  byId('try-body').textContent = '';
  explain.replaceChildren();
  let response;
  let text;
  try {
    const headers = { Authorization: `Bearer ${secret}` };
    if (call.body !== undefined) headers['Content-Type'] = call.contentType;
    // No cookies or cached admin credentials: the endpoint sees what a consumer would send.
    const init = { method: call.method, headers, body: call.body, credentials: 'omit', cache: 'no-store', signal };
    response = await fetch(call.path, init);
    text = await response.text();
    if (!live()) return;
  } catch (error) {
    if (live())
      status.textContent = signal.aborted ? 'No answer within 30 seconds.' : `The call failed: ${error.message}`;
    return;
  }
  status.textContent = `${response.status} ${response.statusText}`.trim();
  status.className = response.ok ? 'ok' : 'bad';
  const lines = [];
  response.headers.forEach((value, name) => lines.push(`${name}: ${value}`));
  byId('try-headers').textContent = lines.join('\n');
  byId('try-body').textContent = readable(text);
  if (response.ok || !isEndpointError(text)) return;
  if (!canExplain) {
    fill(explain, el('p', { class: 'hint' }, `Explaining a refusal needs the ${EXPLAIN_PERMISSION} permission.`));
    return;
  }
  try {
    const body = call.body !== undefined && call.body.length <= EXPLAIN_BODY_LIMIT ? call.body : undefined;
    const answer = await api('POST', 'explain', { secret, method: call.method, path: call.path, body });
    if (live()) fill(explain, explanationOf(answer));
  } catch (error) {
    if (live()) fill(explain, el('p', { class: 'bad' }, (await describeError(error)).join(' ')));
  }
}

/** Opens the panel for one API; closing it clears every field (the secret first) and the answer. */
export async function openTryIt(definition, { basePath, permissions }) {
  const dialog = byId('try-dialog');
  const form = byId('try-form');
  const fields = form.elements;
  const canExplain = permissions.includes(EXPLAIN_PERMISSION);
  clearAnswer();
  form.reset();
  byId('try-title').textContent = `Try API ${definition.route}`;
  const names = routeParameters(definition.route);
  const inputs = new Map(
    names.map((name) => [name, el('input', { 'data-parameter': name, autocomplete: 'off', spellcheck: 'false' })]),
  );
  const parameters = byId('try-parameters');
  fill(
    parameters,
    el('legend', {}, 'Route parameters'),
    [...inputs].map(([name, input]) => el('label', {}, `{${name}}`, input)),
  );
  parameters.hidden = names.length === 0;
  const values = () => new Map([...inputs].map(([name, input]) => [name, input.value]));
  const path = () => pathOf(basePath, definition.route, values(), fields.query.value);
  const sync = () => {
    // fetch refuses a body on GET.
    fields.body.disabled = fields.method.value === 'GET';
    fields.contentType.disabled = fields.body.disabled;
    byId('try-url').textContent = `${fields.method.value} ${window.location.origin}${path()}`;
  };
  form.oninput = sync;
  sync();
  let controller = null;
  let closed = false;
  form.onsubmit = async (event) => {
    event.preventDefault();
    const problems = [...inputs]
      .filter(([, input]) => input.value === '')
      .map(([name]) => `Fill the route parameter {${name}}.`);
    if (fields.secret.value === '') problems.push('Paste the secret of a token this API allows.');
    showProblems(byId('try-problems'), problems);
    if (problems.length > 0) return;
    controller?.abort();
    const current = (controller = new window.AbortController());
    const timer = setTimeout(() => current.abort(), TIMEOUT_MS);
    const body = fields.body.disabled || fields.body.value === '' ? undefined : fields.body.value;
    const call = { method: fields.method.value, path: path(), body, contentType: fields.contentType.value };
    // An answer is shown only while its call is the panel's latest and the panel is open.
    const live = () => !closed && controller === current;
    await send(call, fields.secret.value, { signal: current.signal, live, canExplain });
    clearTimeout(timer);
  };
  await showModal(dialog);
  closed = true;
  controller?.abort();
  form.onsubmit = null;
  form.oninput = null;
  form.reset();
  showProblems(byId('try-problems'), []);
  parameters.replaceChildren();
  clearAnswer();
}

function clearAnswer() {
  const status = byId('try-status');
  status.textContent = 'Nothing sent yet.';
  status.className = 'empty';
  byId('try-headers').textContent = '';
  byId('try-body').textContent = '';
  byId('try-explain').replaceChildren();
}
