// The Usage tab: all calls of the chosen period as a chart, and the busiest and most refused APIs and tokens.
import { api, describeError, query } from './api-client.js';
import { el, fill } from './dom.js';
import { UsagePanel } from './usage-panel.js';
import { periodQuery } from './usage-period.js';

/** Everyone's calls show both kinds of object, so the overview needs both read permissions (as GET /usage does). */
const NEEDED = ['UserDefinableApiTokenRead', 'UserDefinableApiDefinitionRead'];
const SHOWN = 10;

const RANKINGS = [
  { id: 'busiest-apis', title: 'Busiest APIs', groupBy: 'definition', sort: 'calls' },
  { id: 'busiest-tokens', title: 'Busiest tokens', groupBy: 'token', sort: 'calls' },
  { id: 'refused-apis', title: 'Most refused APIs', groupBy: 'definition', sort: 'refusals' },
  { id: 'refused-tokens', title: 'Most refused tokens', groupBy: 'token', sort: 'refusals' },
];

function refusalsOf(group) {
  return Object.values(group.refusals).reduce((sum, count) => sum + count, 0);
}

/** Labels are names and routes users typed: text only. Id '' is the calls no token (or no API) could be named for. */
function labelCell(group, kind) {
  if (group.id === '')
    return el('span', { class: 'kind' }, kind === 'token' ? 'No token (unknown or missing secret)' : 'No API matched');
  if (group.label === null) return el('span', {}, el('span', { class: 'kind' }, 'Deleted '), el('code', {}, group.id));
  return kind === 'token' ? el('span', { class: 'name' }, group.label) : el('code', {}, group.label);
}

export class UsageView {
  constructor(container, permissions) {
    this.allowed = NEEDED.every((permission) => permissions.includes(permission));
    if (!this.allowed) {
      container.append(
        el('p', { class: 'empty' }, `The usage of all APIs and tokens needs both ${NEEDED.join(' and ')}.`),
      );
      return;
    }
    this.period = 'hour';
    this.sequence = 0;
    const chartBox = el('section', { class: 'usage-overview', 'aria-label': 'All calls' });
    this.panel = new UsagePanel(chartBox, {}, { onPeriod: (name) => this.loadRankings(name) });
    this.rankings = RANKINGS.map((ranking) => ({ ...ranking, body: el('tbody') }));
    container.append(
      chartBox,
      el(
        'div',
        { class: 'rankings' },
        this.rankings.map((ranking) =>
          el(
            'section',
            { id: ranking.id, class: 'ranking', 'aria-labelledby': `${ranking.id}-title` },
            el('h3', { id: `${ranking.id}-title` }, ranking.title),
            el(
              'table',
              {},
              el(
                'thead',
                {},
                el(
                  'tr',
                  {},
                  el('th', { scope: 'col' }, ranking.groupBy === 'token' ? 'Token' : 'API'),
                  ['Calls', 'Errors', 'Refusals'].map((title) => el('th', { scope: 'col', class: 'number' }, title)),
                ),
              ),
              ranking.body,
            ),
          ),
        ),
      ),
    );
  }

  async refresh() {
    if (!this.allowed) return;
    await Promise.all([this.panel.refresh(), this.loadRankings(this.panel.period)]);
  }

  async loadRankings(period) {
    const sequence = ++this.sequence;
    const range = periodQuery(period);
    try {
      const reports = await Promise.all(
        this.rankings.map(({ groupBy, sort }) => api('GET', `usage${query({ ...range, groupBy, sort })}`)),
      );
      if (sequence !== this.sequence) return;
      this.rankings.forEach((ranking, index) => this.renderRanking(ranking, reports[index].groups ?? []));
    } catch (error) {
      if (sequence !== this.sequence) return;
      const message = (await describeError(error)).join(' ');
      for (const ranking of this.rankings)
        fill(ranking.body, el('tr', {}, el('td', { colspan: 4, class: 'bad' }, message)));
    }
  }

  renderRanking(ranking, groups) {
    const score = ranking.sort === 'refusals' ? refusalsOf : (group) => group.calls;
    const shown = groups.filter((group) => score(group) > 0).slice(0, SHOWN);
    fill(
      ranking.body,
      shown.length > 0
        ? shown.map((group) =>
            el(
              'tr',
              { 'data-id': group.id },
              el('td', {}, labelCell(group, ranking.groupBy)),
              el('td', { class: 'number', 'data-column': 'Calls' }, String(group.calls)),
              el('td', { class: 'number', 'data-column': 'Errors' }, String(group.clientErrors + group.serverErrors)),
              el('td', { class: 'number', 'data-column': 'Refusals' }, String(refusalsOf(group))),
            ),
          )
        : el(
            'tr',
            {},
            el(
              'td',
              { colspan: 4, class: 'empty' },
              ranking.sort === 'refusals' ? 'No refusals in this period.' : 'No calls in this period.',
            ),
          ),
    );
  }
}
