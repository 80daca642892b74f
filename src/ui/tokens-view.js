// The Tokens tab: the token table, the create/edit dialog with rate-limit editing, enable/disable, rotate, delete, usage.
import { api, describeError, query } from './api-client.js';
import { auditCell, byId, confirmAction, copyText, el, formatTime, notify, showModal, showProblems } from './dom.js';
import { PagedTable } from './paged-table.js';
import { nameProblem, scopesOf, scopesProblem } from './text-rules.js';
import { showUsageDialog } from './usage-panel.js';

const PERMISSION = { write: 'UserDefinableApiTokenCreateUpdate', remove: 'UserDefinableApiTokenDelete' };

function isExpired(token) {
  return token.expiresAt !== null && Date.parse(token.expiresAt) <= Date.now();
}

function stateBadge(token) {
  if (token.isDisabled) return el('span', { class: 'badge off' }, 'Disabled');
  if (isExpired(token)) return el('span', { class: 'badge off' }, 'Expired');
  return el('span', { class: 'badge on' }, 'Enabled');
}

/** The state, and while a rotation's grace period runs, until when the previous secret works too. */
function stateCell(token) {
  if (!token.previousSecretExpiresAt) return stateBadge(token);
  return el(
    'span',
    {},
    stateBadge(token),
    el('small', { class: 'grace' }, 'Previous secret until ', formatTime(token.previousSecretExpiresAt)),
  );
}

/** The last-use filter's choices: days without a call (0: any). */
const UNUSED_CHOICES = [
  [0, 'Any last use'],
  [7, 'Unused for 7 days'],
  [30, 'Unused for 30 days'],
  [90, 'Unused for 90 days'],
];

function rateLimitText(rateLimit) {
  return rateLimit ? `${rateLimit.limit} per ${rateLimit.windowSeconds} s` : 'Unlimited';
}

/** The metadata field: empty is none (null); anything else must parse as JSON (the server checks the rest). */
function metadataOf(text) {
  if (text.trim() === '') return { value: null };
  try {
    return { value: JSON.parse(text) };
  } catch {
    return { problem: 'The metadata must be a JSON object, e.g. {"team": "billing"}, or empty for none.' };
  }
}

/** The same rules the server applies (InvalidName, InvalidRateLimit, InvalidScopes), checked before anything is sent. */
function tokenFormProblems({ name, rateLimit, scopes }) {
  const problems = [];
  const nameIssue = nameProblem(name);
  if (nameIssue) problems.push(nameIssue);
  const scopesIssue = scopesProblem(scopes, 'A token');
  if (scopesIssue) problems.push(scopesIssue);
  if (rateLimit) {
    if (!Number.isInteger(rateLimit.limit) || rateLimit.limit < 1 || rateLimit.limit > 100)
      problems.push('The limit must be a whole number from 1 to 100 requests.');
    if (!Number.isInteger(rateLimit.windowSeconds) || rateLimit.windowSeconds < 1 || rateLimit.windowSeconds > 86400) {
      problems.push('The window must be a whole number from 1 to 86400 seconds.');
    }
  }
  return problems;
}

export class TokensView {
  constructor(container, permissions) {
    this.canWrite = permissions.includes(PERMISSION.write);
    this.canDelete = permissions.includes(PERMISSION.remove);
    const columns = [
      { title: 'Name', cell: (token) => el('span', { class: 'name' }, token.name) },
      { title: 'State', cell: stateCell },
      { title: 'ID', cell: (token) => el('code', {}, token.id) },
      // The secret's first characters, to tell keys apart; tokens older than it have none.
      { title: 'Starts with', cell: (token) => (token.start ? el('code', {}, `${token.start}…`) : '-') },
      { title: 'Scopes', cell: (token) => (token.scopes.length > 0 ? token.scopes.join(' ') : '-') },
      { title: 'Rate limit', cell: (token) => rateLimitText(token.rateLimit) },
      {
        title: 'Expires',
        cell: (token) =>
          token.expiresAt ? el('time', { datetime: token.expiresAt }, formatTime(token.expiresAt)) : 'Never',
      },
      {
        title: 'Last used',
        cell: (token) =>
          token.lastUsedAt ? el('time', { datetime: token.lastUsedAt }, formatTime(token.lastUsedAt)) : 'Never',
      },
      { title: 'Created', cell: (token) => auditCell(token.createdBy, token.createdAt) },
      { title: 'Modified', cell: (token) => auditCell(token.lastModifiedBy, token.lastModified) },
    ];
    // Usage is read-only, so every user has the column.
    columns.push({ title: 'Actions', cell: (token) => this.actions(token) });
    this.table = new PagedTable({
      container,
      label: 'tokens by name',
      noun: { one: 'token', many: 'tokens' },
      columns,
      load: (params) => api('GET', `tokens${query(this.withUseFilter(params))}`),
      count: (params) => api('GET', `tokens/count${query(this.withUseFilter(params))}`).then((answer) => answer.count),
    });
    this.unusedFor = el(
      'select',
      { id: 'token-unused', 'aria-label': 'Show tokens by last use' },
      ...UNUSED_CHOICES.map(([days, label]) => el('option', { value: String(days) }, label)),
    );
    this.unusedFor.addEventListener('change', () => this.table.restart());
    this.table.toolbar.insertBefore(this.unusedFor, this.table.countLabel);
    if (this.canWrite) {
      this.table.toolbar.append(
        el(
          'button',
          { type: 'button', class: 'primary', id: 'token-create', onclick: () => this.edit(null) },
          'New token',
        ),
      );
    }
  }

  refresh() {
    return this.table.refresh();
  }

  /** Adds the last-use filter to a list or count query: tokens with no call for the chosen number of days. */
  withUseFilter(params) {
    const days = Number(this.unusedFor?.value ?? 0);
    return days > 0 ? { ...params, unusedSince: new Date(Date.now() - days * 86_400_000).toISOString() } : params;
  }

  actions(token) {
    const label = `token ${token.name}`;
    return el(
      'span',
      { class: 'actions' },
      el(
        'button',
        {
          type: 'button',
          'aria-label': `Usage of ${label}`,
          onclick: () => showUsageDialog(`Usage of ${label}`, { tokenId: token.id }),
        },
        'Usage',
      ),
      this.canWrite &&
        el('button', { type: 'button', 'aria-label': `Edit ${label}`, onclick: () => this.edit(token) }, 'Edit'),
      this.canWrite &&
        el(
          'button',
          {
            type: 'button',
            'aria-label': `${token.isDisabled ? 'Enable' : 'Disable'} ${label}`,
            onclick: () => this.toggle(token),
          },
          token.isDisabled ? 'Enable' : 'Disable',
        ),
      this.canWrite &&
        el(
          'button',
          { type: 'button', 'aria-label': `Rotate the secret of ${label}`, onclick: () => this.rotate(token) },
          'Rotate secret',
        ),
      this.canWrite &&
        token.previousSecretExpiresAt &&
        el(
          'button',
          { type: 'button', 'aria-label': `End the grace period of ${label}`, onclick: () => this.endGrace(token) },
          'End grace period',
        ),
      this.canDelete &&
        el(
          'button',
          { type: 'button', class: 'danger', 'aria-label': `Delete ${label}`, onclick: () => this.remove(token) },
          'Delete',
        ),
    );
  }

  /** Opens the create (token null) or edit dialog and saves it. */
  async edit(token) {
    const dialog = byId('token-dialog');
    const form = byId('token-form');
    const problems = byId('token-problems');
    byId('token-dialog-title').textContent = token ? `Edit token ${token.name}` : 'New token';
    form.elements.name.value = token?.name ?? '';
    form.elements.limited.checked = Boolean(token?.rateLimit);
    form.elements.limit.value = String(token?.rateLimit?.limit ?? 10);
    form.elements.windowSeconds.value = String(token?.rateLimit?.windowSeconds ?? 60);
    // datetime-local shows and returns "YYYY-MM-DDTHH:MM"; the server reads a time without an offset as UTC.
    form.elements.expiresAt.value = token?.expiresAt ? token.expiresAt.slice(0, 16) : '';
    form.elements.scopes.value = (token?.scopes ?? []).join(' ');
    form.elements.metadata.value = token?.metadata ? JSON.stringify(token.metadata, null, 2) : '';
    showProblems(problems, []);
    const syncLimitFields = () => {
      byId('token-limit-fields').disabled = !form.elements.limited.checked;
    };
    syncLimitFields();
    form.elements.limited.onchange = syncLimitFields;
    form.onsubmit = async (event) => {
      event.preventDefault();
      const input = {
        name: form.elements.name.value,
        rateLimit: form.elements.limited.checked
          ? { limit: Number(form.elements.limit.value), windowSeconds: Number(form.elements.windowSeconds.value) }
          : null,
        expiresAt: form.elements.expiresAt.value === '' ? null : form.elements.expiresAt.value,
        scopes: scopesOf(form.elements.scopes.value),
      };
      if (!token && input.expiresAt === null) delete input.expiresAt;
      const metadata = metadataOf(form.elements.metadata.value);
      if ('value' in metadata) input.metadata = metadata.value;
      const found = [...tokenFormProblems(input), ...(metadata.problem ? [metadata.problem] : [])];
      showProblems(problems, found);
      if (found.length > 0) return;
      try {
        const saved = token
          ? await api('PATCH', `tokens/${encodeURIComponent(token.id)}`, input)
          : await api('POST', 'tokens', input);
        dialog.close('saved');
        if (saved.secret) await showSecret(saved, 'created');
        else notify(`Token ${saved.name} saved.`);
        await this.refresh();
      } catch (error) {
        showProblems(problems, await describeError(error));
      }
    };
    await showModal(dialog);
    form.onsubmit = null;
  }

  async toggle(token) {
    try {
      const saved = await api('PATCH', `tokens/${encodeURIComponent(token.id)}`, { isDisabled: !token.isDisabled });
      notify(`Token ${saved.name} ${saved.isDisabled ? 'disabled: its calls are refused from now on' : 'enabled'}.`);
    } catch (error) {
      notify(await describeError(error), 'error');
    }
    await this.refresh();
  }

  /** Asks how long the current secret keeps working (none by default), then rotates and shows the new secret. */
  async rotate(token) {
    byId('rotate-title').textContent = `Rotate the secret of ${token.name}?`;
    const grace = byId('rotate-grace');
    grace.value = '0';
    const describe = () => {
      byId('rotate-message').textContent =
        grace.value === '0'
          ? 'A new secret is generated and the current one stops working at once: every consumer of this token needs the new one.'
          : 'A new secret is generated; the current one keeps working until the grace period ends, so consumers can switch without an outage.';
    };
    describe();
    grace.onchange = describe;
    const confirmed = (await showModal(byId('rotate-dialog'))) === 'confirm';
    grace.onchange = null;
    if (!confirmed) return;
    const seconds = Number(grace.value);
    const body = seconds > 0 ? { previousSecretExpiresAt: new Date(Date.now() + seconds * 1000).toISOString() } : {};
    try {
      await showSecret(await api('POST', `tokens/${encodeURIComponent(token.id)}/rotate`, body), 'rotated');
    } catch (error) {
      notify(await describeError(error), 'error');
    }
    await this.refresh();
  }

  async endGrace(token) {
    if (
      !(await confirmAction(
        `End the grace period of ${token.name}?`,
        'The previous secret stops working at once; the current one is unchanged.',
        'End grace period',
      ))
    )
      return;
    try {
      await api('PATCH', `tokens/${encodeURIComponent(token.id)}`, { previousSecretExpiresAt: null });
      notify(`The previous secret of ${token.name} no longer works.`);
    } catch (error) {
      notify(await describeError(error), 'error');
    }
    await this.refresh();
  }

  async remove(token) {
    if (
      !(await confirmAction(
        `Delete token ${token.name}?`,
        'Consumers using its secret are refused from now on. This cannot be undone.',
        'Delete token',
      ))
    )
      return;
    try {
      await api('DELETE', `tokens/${encodeURIComponent(token.id)}`);
      notify(`Token ${token.name} deleted.`);
    } catch (error) {
      notify([`Token ${token.name} was not deleted.`, ...(await describeError(error))], 'error');
    }
    await this.refresh();
  }
}

/**
 * Shows a new secret once. It lives only in this dialog's text while the dialog is open: closing it clears the
 * text, and nothing else in the page (no variable, no URL, no storage) keeps it.
 */
async function showSecret(token, what) {
  const dialog = byId('secret-dialog');
  const value = byId('secret-value');
  byId('secret-title').textContent = `Token ${token.name} ${what}`;
  value.textContent = token.secret;
  const copy = byId('secret-copy');
  copy.onclick = async () => {
    const copied = await copyText(value.textContent ?? '');
    copy.textContent = copied ? 'Copied' : 'Copy failed: select the text and copy it';
  };
  copy.textContent = 'Copy secret';
  await showModal(dialog);
  value.textContent = '';
  copy.onclick = null;
}
