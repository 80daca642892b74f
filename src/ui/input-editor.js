// The input schemas of the API dialog: a JSON textarea per part, checked while typing by JSON.parse, then by the server.
import { api, describeError } from './api-client.js';
import { el } from './dom.js';

/** The parts a definition's input may describe, in the dialog's order. */
const PARTS = ['body', 'query', 'route'];
const LABELS = { body: 'Body', query: 'Query', route: 'Route' };
const CHECK_DELAY_MS = 300;

/** Whether a problem's field (input.body/properties/x) belongs to the part; `input` and unknown parts belong to none. */
const belongsTo = (field, part) => field === `input.${part}` || field.startsWith(`input.${part}/`);

/**
 * The server's rules are not mirrored here (ajv's strict mode cannot be): each change is sent to
 * POST /definitions/input-check, which answers exactly what a save would refuse. Only the newest answer is shown.
 */
export class InputEditor {
  /**
   * `areas` are the textareas by part, `lists` the problem lists by part plus `other` (problems of no one part),
   * `status` a line saying what the check found, `routeOf()` the route the schemas are for.
   */
  constructor({ details, areas, lists, status, routeOf }) {
    this.details = details;
    this.areas = areas;
    this.lists = lists;
    this.status = status;
    this.routeOf = routeOf;
    this.sequence = 0;
    this.timer = undefined;
    this.live = false;
    for (const part of PARTS) this.areas[part].oninput = () => this.schedule();
  }

  /** Shows a definition's input (undefined: none); `live` checks changes as they are typed (not for read-only users). */
  set(input, { readOnly, live }) {
    this.close();
    this.live = live;
    for (const part of PARTS) {
      const area = this.areas[part];
      area.value = input?.[part] === undefined ? '' : JSON.stringify(input[part], null, 2);
      area.readOnly = readOnly;
    }
    this.details.open = input !== undefined;
    this.render({}, []);
    this.status.textContent = '';
  }

  /** Stops the pending check and drops any answer still to come (the dialog closed or shows another API). */
  close() {
    clearTimeout(this.timer);
    this.sequence += 1;
    this.live = false;
  }

  /** Rechecks soon: after each keystroke in a schema, and after a change of the route the route schema depends on. */
  schedule() {
    if (!this.live) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.check(), CHECK_DELAY_MS);
  }

  /**
   * The input as typed: `input` holds each part that parses (null when every textarea is empty), `invalid` the
   * JSON.parse message of each part that does not.
   */
  read() {
    const input = {};
    const invalid = {};
    for (const part of PARTS) {
      const text = this.areas[part].value;
      if (text.trim() === '') continue;
      try {
        input[part] = JSON.parse(text);
      } catch (error) {
        invalid[part] = `Not valid JSON: ${error instanceof Error ? error.message : String(error)}.`;
      }
    }
    return { input: Object.keys(input).length === 0 ? null : input, invalid };
  }

  /** The JSON.parse problems as the dialog's Save lists them, one line per part (the live check shows them too). */
  parseProblems() {
    const { invalid } = this.read();
    return Object.entries(invalid).map(([part, message]) => `${LABELS[part]} schema: ${message}`);
  }

  async check() {
    const sequence = (this.sequence += 1);
    const { input, invalid } = this.read();
    this.render(invalid, []);
    if (input === null) {
      this.status.textContent = '';
      return;
    }
    this.status.textContent = 'Checking the schemas…';
    this.status.className = 'hint';
    let problems;
    try {
      const route = this.routeOf();
      ({ problems } = await api('POST', 'definitions/input-check', { input, ...(route ? { route } : {}) }));
    } catch (error) {
      if (sequence !== this.sequence) return;
      this.render(invalid, []);
      this.status.textContent = `The schemas could not be checked: ${(await describeError(error)).join(' ')}`;
      this.status.className = 'hint bad';
      return;
    }
    if (sequence !== this.sequence) return;
    this.render(invalid, problems);
    const parsed = Object.keys(input).map((part) => LABELS[part]);
    this.status.textContent =
      problems.length === 0
        ? `${parsed.join(', ')}: the server accepts ${parsed.length === 1 ? 'this schema' : 'these schemas'}.`
        : `${problems.length} problem${problems.length === 1 ? '' : 's'}: a save would be refused.`;
    this.status.className = problems.length === 0 ? 'hint' : 'hint bad';
  }

  /** Shows each part's problems under its textarea: its JSON.parse message, or the server's fields and messages. */
  render(invalid, problems) {
    const line = (problem) => el('li', {}, el('code', {}, problem.field), ': ', problem.message);
    for (const part of PARTS) {
      const items =
        invalid[part] !== undefined
          ? [el('li', {}, invalid[part])]
          : problems.filter((problem) => belongsTo(problem.field, part)).map(line);
      this.lists[part].replaceChildren(...items);
      this.lists[part].hidden = items.length === 0;
      this.areas[part].setAttribute('aria-invalid', items.length > 0 ? 'true' : 'false');
    }
    const others = problems.filter((problem) => !PARTS.some((part) => belongsTo(problem.field, part))).map(line);
    this.lists.other.replaceChildren(...others);
    this.lists.other.hidden = others.length === 0;
  }
}
