// The Activity tab: who created, updated or deleted which token or API, and when (GET /events), filtered and paged.
import { api, query } from './api-client.js';
import { el, formatTime } from './dom.js';
import { PagedTable } from './paged-table.js';

const FILTER_DELAY_MS = 300;
const OBJECT_TYPES = [
  ['', 'Tokens and APIs'],
  ['ApiToken', 'Tokens'],
  ['ApiDefinition', 'APIs'],
];
const ACTIONS = [
  ['', 'Any change'],
  ['created', 'Created'],
  ['updated', 'Updated'],
  ['deleted', 'Deleted'],
];

/** A datetime-local value ("2026-12-01T10:00") read as UTC, as every time in the UI is shown in UTC. */
function utc(value) {
  if (value === '') return undefined;
  return value.length === 16 ? `${value}:00Z` : `${value}Z`;
}

function objectCell(event) {
  const token = event.objectType === 'ApiToken';
  return el(
    'span',
    {},
    el('span', { class: 'kind' }, token ? 'Token ' : 'API '),
    token ? el('span', { class: 'name' }, event.tokenName ?? '') : el('code', {}, event.route ?? ''),
    el('small', {}, el('code', {}, event.objectId)),
  );
}

function select(id, label, choices) {
  return el(
    'select',
    { id, 'aria-label': label },
    choices.map(([value, text]) => el('option', { value }, text)),
  );
}

export class ActivityView {
  constructor(container) {
    this.fields = {
      objectType: select('activity-type', 'Object type', OBJECT_TYPES),
      action: select('activity-action', 'Change', ACTIONS),
      objectId: el('input', {
        id: 'activity-object',
        type: 'search',
        placeholder: 'Object id',
        'aria-label': 'Object id',
        maxlength: 100,
        spellcheck: 'false',
      }),
      user: el('input', {
        id: 'activity-user',
        type: 'search',
        placeholder: 'User',
        'aria-label': 'Changed by user',
        maxlength: 1000,
      }),
      from: el('input', { id: 'activity-from', type: 'datetime-local', 'aria-label': 'From (UTC)' }),
      to: el('input', { id: 'activity-to', type: 'datetime-local', 'aria-label': 'Until (UTC)' }),
    };
    this.table = new PagedTable({
      container,
      noun: { one: 'event', many: 'events' },
      columns: [
        { title: 'When', cell: (event) => el('time', { datetime: event.at }, formatTime(event.at)) },
        { title: 'User', cell: (event) => el('span', { class: 'user-name' }, event.user) },
        { title: 'Change', cell: (event) => el('span', { class: `change ${event.action}` }, event.action) },
        { title: 'Object', cell: objectCell },
      ],
      load: ({ cursor, limit }) => api('GET', `events${query({ ...this.filters(), cursor, limit })}`),
      emptyText: () =>
        Object.values(this.filters()).some((value) => value !== undefined)
          ? 'No events match these filters.'
          : 'No changes yet.',
    });
    const { toolbar } = this.table;
    const labelled = (text, field) => el('label', { class: 'filter' }, text, field);
    toolbar.classList.add('filters');
    toolbar.prepend(
      this.fields.objectType,
      this.fields.action,
      this.fields.objectId,
      this.fields.user,
      labelled('From (UTC)', this.fields.from),
      labelled('until', this.fields.to),
    );
    // Typing waits for a pause; every change starts again from the first page, which the filters now describe.
    let timer;
    const restart = () => {
      clearTimeout(timer);
      timer = setTimeout(() => this.table.restart(), FILTER_DELAY_MS);
    };
    for (const field of Object.values(this.fields)) {
      field.addEventListener('input', restart);
      field.addEventListener('change', restart);
    }
  }

  filters() {
    const value = (name) => this.fields[name].value.trim() || undefined;
    return {
      objectType: value('objectType'),
      action: value('action'),
      objectId: value('objectId'),
      user: value('user'),
      from: utc(this.fields.from.value),
      to: utc(this.fields.to.value),
    };
  }

  refresh() {
    return this.table.refresh();
  }
}
