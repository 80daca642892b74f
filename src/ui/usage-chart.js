// Draws a GET /usage series as an SVG bar chart stacked by outcome, with an axis, a legend and the counts as text.
import { el, formatTime, svgEl } from './dom.js';

/** The drawing's own units; the SVG scales to the width of its box (app.css), text with it. */
const WIDTH = 960;
const HEIGHT = 200;
const MARGIN = { top: 12, right: 8, bottom: 22, left: 40 };
const TICKS = 6;

/** Stacked bottom up; `className` colours them (app.css), as no inline style is allowed. */
const PARTS = [
  { key: 'ok', label: 'OK (below 400)', className: 'ok' },
  { key: 'clientErrors', label: 'Client errors (4xx)', className: 'client' },
  { key: 'serverErrors', label: 'Server errors (5xx)', className: 'server' },
];

let chartCount = 0;

function plural(count, one, many = `${one}s`) {
  return `${count} ${count === 1 ? one : many}`;
}

/** "4 calls: 3 ok, 1 client error, 0 server errors": the text of a bar's title, the summary and the table. */
export function countsText(counts) {
  return `${plural(counts.calls, 'call')}: ${counts.ok} ok, ${plural(counts.clientErrors, 'client error')}, ${plural(counts.serverErrors, 'server error')}`;
}

/** `period` is one of PERIODS (usage-period.js): its label, bucket unit and tick format. */
export function usageChart(report, period) {
  const id = `usage-chart-${(chartCount += 1)}`;
  const peak = Math.max(0, ...report.series.map((point) => point.calls));
  const summary =
    report.totals.calls === 0
      ? `${period.label}: no calls.`
      : `${period.label}, per ${period.unit}: ${countsText(report.totals)}; at most ${plural(peak, 'call')} in one ${period.unit}.`;
  return el(
    'figure',
    { class: 'usage-chart' },
    drawing(report.series, Math.max(1, peak), period, `${id}-summary`),
    legend(),
    el('figcaption', { id: `${id}-summary`, class: 'usage-summary' }, summary),
    table(report.series, period),
  );
}

function drawing(series, max, period, summaryId) {
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const bottom = MARGIN.top + plotHeight;
  const step = plotWidth / Math.max(1, series.length);
  // A gap between bars while they are wide enough to spare one.
  const gap = step > 4 ? step * 0.2 : 0;
  const bars = series
    .map((point, index) => ({ point, x: MARGIN.left + index * step + gap / 2 }))
    .filter(({ point }) => point.calls > 0)
    .map(({ point, x }) => bar(point, x, step - gap, bottom, plotHeight / max));
  const ticks = [];
  const every = Math.max(1, Math.ceil(series.length / TICKS));
  for (let index = 0; index < series.length; index += every) {
    const x = MARGIN.left + index * step;
    ticks.push(svgEl('text', { x, y: HEIGHT - 6, class: 'tick' }, period.tick(series[index].at)));
  }
  return svgEl(
    'svg',
    {
      viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
      role: 'img',
      'aria-labelledby': summaryId,
      preserveAspectRatio: 'xMidYMid meet',
    },
    svgEl('line', { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: MARGIN.top, y2: MARGIN.top, class: 'grid' }),
    svgEl('line', { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: bottom, y2: bottom, class: 'axis' }),
    svgEl('text', { x: MARGIN.left - 6, y: MARGIN.top + 4, class: 'value' }, String(max)),
    svgEl('text', { x: MARGIN.left - 6, y: bottom, class: 'value' }, '0'),
    ticks,
    bars,
  );
}

/** One bucket: a rectangle per outcome it has, and a title (the tooltip) with its time and counts. */
function bar(point, x, width, bottom, scale) {
  let base = bottom;
  const rects = [];
  for (const part of PARTS) {
    const height = point[part.key] * scale;
    if (height <= 0) continue;
    base -= height;
    rects.push(svgEl('rect', { x, y: base, width: Math.max(1, width), height, class: part.className }));
  }
  return svgEl(
    'g',
    { class: 'bucket', 'data-at': point.at },
    svgEl('title', {}, `${formatTime(point.at)}: ${countsText(point)}`),
    rects,
  );
}

function legend() {
  return el(
    'ul',
    { class: 'legend' },
    PARTS.map((part) => el('li', {}, el('span', { class: `swatch ${part.className}` }), part.label)),
  );
}

/** The same counts for screen readers: the buckets that have calls (a week has 168, mostly empty). */
function table(series, period) {
  const rows = series.filter((point) => point.calls > 0);
  return el(
    'table',
    { class: 'visually-hidden' },
    el('caption', {}, `Calls per ${period.unit} (${period.unit}s without calls left out)`),
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        ['Time', 'Calls', ...PARTS.map((part) => part.label)].map((title) => el('th', { scope: 'col' }, title)),
      ),
    ),
    el(
      'tbody',
      {},
      rows.map((point) =>
        el(
          'tr',
          {},
          el('td', {}, formatTime(point.at)),
          el('td', {}, String(point.calls)),
          PARTS.map((part) => el('td', {}, String(point[part.key]))),
        ),
      ),
    ),
  );
}
