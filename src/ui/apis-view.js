// The APIs tab: the definition table with allowed token names, the create/edit dialog with live route and input checks
// (read-only for viewers), copy URL, usage, try it, delete.
import { api, apiLabel, describeError, query } from './api-client.js';
import { auditCell, byId, confirmAction, copyText, el, fill, notify, showModal, showProblems } from './dom.js';
import { InputEditor } from './input-editor.js';
import { PagedTable } from './paged-table.js';
import { routeProblem } from './route-rules.js';
import { descriptionProblem, optionalNameProblem, scopesOf, scopesProblem } from './text-rules.js';
import { openTryIt } from './try-it.js';
import { showUsageDialog } from './usage-panel.js';

const PERMISSION = {
  write: ['UserDefinableApiDefinitionCreateUpdate', 'UserDefinableApiActionExecute'],
  remove: 'UserDefinableApiDefinitionDelete',
  readTokens: 'UserDefinableApiTokenRead',
};
const LOOKUP_BATCH = 100;
const PICKER_RESULTS = 10;

export class ApisView {
  constructor(container, permissions, settings) {
    this.settings = settings;
    this.permissions = permissions;
    this.canWrite = PERMISSION.write.every((permission) => permissions.includes(permission));
    this.canDelete = permissions.includes(PERMISSION.remove);
    this.canReadTokens = permissions.includes(PERMISSION.readTokens);
    /** Token id → name, for the allowed-tokens column; refreshed for every page shown. */
    this.tokenNames = new Map();
    const columns = [
      { title: 'URL', cell: (definition) => el('code', { class: 'url' }, this.urlPath(definition.route)) },
      {
        title: 'Name',
        cell: (definition) =>
          el(
            'span',
            {},
            el('span', { class: 'name' }, definition.name ?? ''),
            definition.description ? el('small', {}, definition.description) : null,
          ),
      },
      { title: 'Action', cell: (definition) => actionText(definition) },
      {
        title: 'Allowed tokens',
        cell: (definition) =>
          el(
            'span',
            { class: 'allowed' },
            definition.securitySettings.allowedTokens.map((id) =>
              el('span', { class: 'chip' }, this.tokenNames.get(id) ?? id),
            ),
          ),
      },
      { title: 'Created', cell: (definition) => auditCell(definition.createdBy, definition.createdAt) },
      { title: 'Modified', cell: (definition) => auditCell(definition.lastModifiedBy, definition.lastModified) },
      { title: 'Actions', cell: (definition) => this.actions(definition) },
    ];
    this.table = new PagedTable({
      container,
      label: 'APIs by name, route or description',
      noun: { one: 'API', many: 'APIs' },
      columns,
      load: async (params) => {
        const page = await api('GET', `definitions${query(params)}`);
        await this.learnTokenNames(page.items.flatMap((definition) => definition.securitySettings.allowedTokens));
        return page;
      },
      count: (params) => api('GET', `definitions/count${query(params)}`).then((answer) => answer.count),
    });
    const form = byId('api-form');
    this.inputEditor = new InputEditor({
      details: byId('api-input'),
      areas: { body: form.elements.inputBody, query: form.elements.inputQuery, route: form.elements.inputRoute },
      lists: {
        body: byId('api-input-body-problems'),
        query: byId('api-input-query-problems'),
        route: byId('api-input-route-problems'),
        other: byId('api-input-problems'),
      },
      status: byId('api-input-status'),
      routeOf: () => form.elements.route.value,
    });
    if (this.canWrite) {
      this.table.toolbar.append(
        el('button', { type: 'button', class: 'primary', id: 'api-create', onclick: () => this.edit(null) }, 'New API'),
      );
    }
  }

  refresh() {
    return this.table.refresh();
  }

  urlPath(route) {
    return `${this.settings.endpointBasePath}/${route}`;
  }

  fullUrl(route) {
    return `${window.location.origin}${this.urlPath(route)}`;
  }

  /** Looks up the names of tokens not seen yet, 100 ids per request (users without token read see ids). */
  async learnTokenNames(ids) {
    if (!this.canReadTokens) return;
    const unknown = [...new Set(ids)].filter((id) => !this.tokenNames.has(id));
    for (let start = 0; start < unknown.length; start += LOOKUP_BATCH) {
      const batch = unknown.slice(start, start + LOOKUP_BATCH);
      const page = await api('GET', `tokens${query({ ids: batch.join(','), limit: LOOKUP_BATCH })}`);
      for (const token of page.items) this.tokenNames.set(token.id, token.name);
    }
  }

  actions(definition) {
    const label = `API ${definition.route}`;
    return el(
      'span',
      { class: 'actions' },
      el(
        'button',
        { type: 'button', 'aria-label': `Copy the URL of ${label}`, onclick: () => this.copyUrl(definition) },
        'Copy URL',
      ),
      // Anyone who sees the API may try it: the call needs a consumer's secret, not an admin permission.
      el(
        'button',
        {
          type: 'button',
          'aria-label': `Try ${label}`,
          onclick: () =>
            openTryIt(definition, { basePath: this.settings.endpointBasePath, permissions: this.permissions }),
        },
        'Try it',
      ),
      el(
        'button',
        {
          type: 'button',
          'aria-label': `Usage of ${label}`,
          onclick: () => showUsageDialog(`Usage of ${label}`, { definitionId: definition.id }),
        },
        'Usage',
      ),
      this.canWrite &&
        el('button', { type: 'button', 'aria-label': `Edit ${label}`, onclick: () => this.edit(definition) }, 'Edit'),
      // Users who may not change it still see all of it, its input schemas included.
      !this.canWrite &&
        el(
          'button',
          { type: 'button', 'aria-label': `View ${label}`, onclick: () => this.edit(definition, { readOnly: true }) },
          'View',
        ),
      this.canDelete &&
        el(
          'button',
          { type: 'button', class: 'danger', 'aria-label': `Delete ${label}`, onclick: () => this.remove(definition) },
          'Delete',
        ),
    );
  }

  async copyUrl(definition) {
    const url = this.fullUrl(definition.route);
    notify((await copyText(url)) ? `Copied ${url}` : `Copy failed; the URL is ${url}`);
  }

  async remove(definition) {
    if (
      !(await confirmAction(
        `Delete the API ${apiLabel(definition)}?`,
        'Its URL answers 404 from now on. This cannot be undone.',
        'Delete API',
      ))
    )
      return;
    try {
      await api('DELETE', `definitions/${encodeURIComponent(definition.id)}`);
      notify(`API ${definition.route} deleted.`);
    } catch (error) {
      notify([`API ${definition.route} was not deleted.`, ...(await describeError(error))], 'error');
    }
    await this.refresh();
  }

  /** Opens the create (definition null) or edit dialog and saves it; `readOnly` only shows the definition. */
  async edit(definition, { readOnly = false } = {}) {
    const dialog = byId('api-dialog');
    const form = byId('api-form');
    const problems = byId('api-problems');
    byId('api-dialog-title').textContent = readOnly
      ? `API ${definition.route}`
      : definition
        ? `Edit API ${definition.route}`
        : 'New API';
    const fields = form.elements;
    setReadOnly(form, readOnly);
    fields.route.value = definition?.route ?? '';
    fields.name.value = definition?.name ?? '';
    fields.description.value = definition?.description ?? '';
    fields.inputType.value = definition?.actionMeta.inputType ?? 'rawBody';
    fields.requiredScopes.value = (definition?.securitySettings.requiredScopes ?? []).join(' ');
    showProblems(problems, []);

    const routeHint = byId('api-route-hint');
    const checkRoute = () => {
      const problem = routeProblem(fields.route.value, this.settings.endpointBasePath, this.settings.maxUrlPathLength);
      routeHint.textContent = problem ?? `URL: ${this.fullUrl(fields.route.value)}`;
      routeHint.className = problem ? 'hint bad' : 'hint';
      fields.route.setAttribute('aria-invalid', problem ? 'true' : 'false');
      return problem;
    };
    const inputs = this.inputEditor;
    fields.route.oninput = () => {
      checkRoute();
      // The route schema may name only the route's {parameters}: a new route can make it right or wrong.
      inputs.schedule();
    };
    checkRoute();
    inputs.set(definition?.input, { readOnly, live: !readOnly });

    await this.fillActions(fields.action, definition);
    const syncInputType = () => {
      byId('api-input-type').hidden = !fields.action.value.startsWith('handler:');
    };
    fields.action.onchange = syncInputType;
    syncInputType();

    const picker = new TokenPicker(byId('api-tokens'), this.tokenNames, this.canReadTokens, readOnly);
    picker.set(definition?.securitySettings.allowedTokens ?? []);

    form.onsubmit = async (event) => {
      event.preventDefault();
      // Enter in a field submits even with Save hidden.
      if (readOnly) return;
      const found = [];
      const routeIssue = checkRoute();
      if (routeIssue) found.push(routeIssue);
      for (const issue of [optionalNameProblem(fields.name.value), descriptionProblem(fields.description.value)])
        if (issue) found.push(issue);
      if (!fields.action.value) found.push('Choose the action this API runs.');
      const requiredScopes = scopesOf(fields.requiredScopes.value);
      const scopesIssue = scopesProblem(requiredScopes, 'An API');
      if (scopesIssue) found.push(scopesIssue);
      // Text that is not JSON cannot be sent; the server's own rules are its to apply when saving.
      found.push(...inputs.parseProblems());
      showProblems(problems, found);
      if (found.length > 0) return;
      const [actionType, ...rest] = fields.action.value.split(':');
      const body = {
        route: fields.route.value,
        name: fields.name.value === '' ? null : fields.name.value,
        description: fields.description.value === '' ? null : fields.description.value,
        actionType,
        actionMeta:
          actionType === 'handler'
            ? { name: rest.join(':'), inputType: fields.inputType.value }
            : { name: rest.join(':') },
        securitySettings: { allowedTokens: picker.ids(), requiredScopes },
      };
      // Empty textareas: no input. Left out, an update would keep the stored one, so then it is removed with null.
      const { input } = inputs.read();
      if (input !== null) body.input = input;
      else if (definition?.input !== undefined) body.input = null;
      try {
        if (definition) await api('PATCH', `definitions/${encodeURIComponent(definition.id)}`, body);
        else {
          if (body.name === null) delete body.name;
          if (body.description === null) delete body.description;
          await api('POST', 'definitions', body);
        }
        dialog.close('saved');
        notify(`API ${body.route} saved.`);
        await this.refresh();
      } catch (error) {
        showProblems(problems, await describeError(error));
      }
    };
    await showModal(dialog);
    form.onsubmit = null;
    inputs.close();
    picker.close();
  }

  async fillActions(select, definition) {
    const current = definition ? `${definition.actionType}:${definition.actionMeta.name}` : '';
    let actions = [];
    try {
      actions = (await api('GET', 'actions')).items;
    } catch (error) {
      notify(await describeError(error), 'error');
    }
    const option = (action) =>
      el(
        'option',
        { value: `${action.kind}:${action.name}` },
        action.kind === 'procedure'
          ? `${action.name} (${action.parameters.join(', ') || 'no parameters'})`
          : action.name,
      );
    const groups = ['handler', 'procedure'].map((kind) =>
      el(
        'optgroup',
        { label: kind === 'handler' ? 'Handlers' : 'Procedures' },
        actions.filter((action) => action.kind === kind).map(option),
      ),
    );
    const missing =
      current && !actions.some((action) => `${action.kind}:${action.name}` === current)
        ? el('option', { value: current }, `${definition.actionMeta.name} (not registered)`)
        : null;
    fill(select, el('option', { value: '' }, 'Choose an action'), missing, groups);
    select.value = current;
  }
}

function actionText(definition) {
  const { actionType, actionMeta } = definition;
  return el(
    'span',
    {},
    el('span', { class: 'kind' }, actionType),
    ' ',
    el('code', {}, actionMeta.name),
    actionType === 'handler' && actionMeta.inputType === 'parameters' ? ' (parameters)' : '',
    inputBadge(definition),
  );
}

/** Read-only: the form's fields can be read and copied but not changed, and it has no Save (Cancel reads Close). */
function setReadOnly(form, readOnly) {
  for (const field of form.querySelectorAll('input, textarea')) field.readOnly = readOnly;
  for (const select of form.querySelectorAll('select')) select.disabled = readOnly;
  form.querySelector('button[type=submit]').hidden = readOnly;
  form.querySelector('button[data-close]').textContent = readOnly ? 'Close' : 'Cancel';
}

function inputBadge(definition) {
  const parts = Object.keys(definition.input ?? {});
  if (parts.length === 0) return null;
  const what = `Calls are checked against JSON Schemas of their ${parts.join(', ')}`;
  return el('span', { class: 'badge input', title: what, 'aria-label': what }, 'input');
}

/** Chooses allowed tokens by searching their names: workable with 10,000 tokens, where a checkbox list is not. */
class TokenPicker {
  constructor(container, names, canSearch, readOnly) {
    this.readOnly = readOnly;
    this.names = names;
    this.selected = new Map();
    this.chips = el('div', { class: 'chips', 'aria-label': 'Allowed tokens' });
    this.results = el('div', { class: 'results', role: 'listbox', 'aria-label': 'Matching tokens' });
    this.search = el('input', {
      type: 'search',
      id: 'api-token-search',
      placeholder: canSearch ? 'Search tokens by name to allow them' : 'You cannot read tokens',
      disabled: !canSearch || readOnly,
      hidden: readOnly,
      'aria-label': 'Search tokens to allow',
      maxlength: 200,
    });
    let timer;
    this.search.oninput = () => {
      clearTimeout(timer);
      timer = setTimeout(() => void this.find(this.search.value.trim()), 200);
    };
    this.container = container;
    container.replaceChildren(this.chips, this.search, this.results);
  }

  set(ids) {
    this.selected = new Map(ids.map((id) => [id, this.names.get(id) ?? id]));
    this.renderChips();
  }

  ids() {
    return [...this.selected.keys()];
  }

  close() {
    this.container.replaceChildren();
  }

  async find(text) {
    const sequence = (this.sequence = (this.sequence ?? 0) + 1);
    if (text === '') {
      this.results.replaceChildren();
      return;
    }
    try {
      const page = await api('GET', `tokens${query({ search: text, limit: PICKER_RESULTS })}`);
      if (sequence !== this.sequence) return;
      fill(
        this.results,
        page.items.map((token) =>
          el(
            'button',
            { type: 'button', role: 'option', 'data-token-id': token.id, onclick: () => this.add(token) },
            token.name,
            token.isDisabled ? ' (disabled)' : '',
            this.selected.has(token.id) ? ' ✓' : '',
          ),
        ),
        page.items.length === 0 ? el('span', { class: 'empty' }, `No token matches "${text}".`) : null,
      );
    } catch (error) {
      this.results.replaceChildren(el('span', { class: 'bad' }, (await describeError(error)).join(' ')));
    }
  }

  add(token) {
    this.names.set(token.id, token.name);
    this.selected.set(token.id, token.name);
    this.renderChips();
    this.search.value = '';
    this.results.replaceChildren();
    this.search.focus();
  }

  renderChips() {
    fill(
      this.chips,
      [...this.selected].map(([id, name]) =>
        el(
          'span',
          { class: 'chip', 'data-token-id': id },
          name,
          !this.readOnly &&
            el(
              'button',
              { type: 'button', 'aria-label': `Do not allow ${name}`, onclick: () => this.removeId(id) },
              '×',
            ),
        ),
      ),
      this.selected.size === 0
        ? el('span', { class: 'empty' }, 'No token allowed yet: nobody can call this API.')
        : null,
    );
  }

  removeId(id) {
    this.selected.delete(id);
    this.renderChips();
  }
}
