// One object's usage (a token, an API, or all calls): the period switcher, the chart and the totals, and its dialog.
import { api, describeError, query } from './api-client.js';
import { byId, el, fill, showModal } from './dom.js';
import { usageChart } from './usage-chart.js';
import { PERIODS, periodQuery, periodSwitcher } from './usage-period.js';

/** The totals of a period as a list of terms: calls, errors, mean duration and the refusals by reason. */
export function totalsList(totals) {
  const refusals = Object.entries(totals.refusals).sort(([, a], [, b]) => b - a);
  return el(
    'dl',
    { class: 'usage-totals' },
    term('Calls', String(totals.calls)),
    term('OK', String(totals.ok)),
    term(
      'Errors',
      `${totals.clientErrors + totals.serverErrors} (${totals.clientErrors} 4xx, ${totals.serverErrors} 5xx)`,
    ),
    // Summed durations are kept, not each call's, so the mean is what can be shown.
    term('Mean duration', totals.calls > 0 ? `${(totals.durationMs / totals.calls).toFixed(1)} ms` : '-'),
    term(
      'Refusals by reason',
      refusals.length > 0
        ? el(
            'ul',
            { class: 'refusals' },
            refusals.map(([reason, count]) =>
              el('li', { 'data-reason': reason }, el('code', {}, reason), `: ${count}`),
            ),
          )
        : 'None',
    ),
  );
}

function term(title, value) {
  return el('div', {}, el('dt', {}, title), el('dd', {}, value));
}

export class UsagePanel {
  /** `filter` is `{ tokenId }`, `{ definitionId }` or `{}` (all calls); `onPeriod(name)` follows the switcher. */
  constructor(container, filter, { period = 'hour', onPeriod } = {}) {
    this.filter = filter;
    this.period = period;
    this.sequence = 0;
    this.chart = el('div', { class: 'usage-chart-area' });
    this.totals = el('div', { class: 'usage-totals-area' });
    const switcher = periodSwitcher(
      period,
      (name) => {
        this.period = name;
        void this.refresh();
        onPeriod?.(name);
      },
      () => {
        void this.refresh();
        onPeriod?.(this.period);
      },
    );
    container.replaceChildren(switcher, this.chart, this.totals);
  }

  /** Loads and draws the chosen period; only the newest request's answer is drawn. */
  async refresh() {
    const sequence = ++this.sequence;
    try {
      const report = await api('GET', `usage${query({ ...this.filter, ...periodQuery(this.period) })}`);
      if (sequence !== this.sequence) return;
      fill(this.chart, usageChart(report, PERIODS[this.period]));
      fill(this.totals, totalsList(report.totals));
    } catch (error) {
      if (sequence !== this.sequence) return;
      fill(this.chart, el('p', { class: 'bad' }, (await describeError(error)).join(' ')));
      this.totals.replaceChildren();
    }
  }
}

/** Shows the usage of one token or API in the page's usage dialog; its contents go when it closes. */
export async function showUsageDialog(title, filter) {
  const body = byId('usage-body');
  byId('usage-title').textContent = title;
  const panel = new UsagePanel(body, filter);
  const shown = showModal(byId('usage-dialog'));
  await panel.refresh();
  await shown;
  body.replaceChildren();
}
