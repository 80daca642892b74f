// The periods the usage views offer (last hour, day, week), the GET /usage query of each, and the switcher.
import { el } from './dom.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;

/** `tick` labels the axis (times are UTC, as everywhere in the UI); a week of hours is 168 bars, still readable. */
export const PERIODS = {
  hour: {
    label: 'Last hour',
    bucket: 'minute',
    size: MINUTE,
    count: 60,
    unit: 'minute',
    tick: (at) => at.slice(11, 16),
  },
  day: { label: 'Last day', bucket: 'hour', size: HOUR, count: 24, unit: 'hour', tick: (at) => at.slice(11, 16) },
  week: {
    label: 'Last week',
    bucket: 'hour',
    size: HOUR,
    count: 168,
    unit: 'hour',
    tick: (at) => `${at.slice(5, 10)} ${at.slice(11, 16)}`,
  },
};

/**
 * The query of a period: whole buckets up to the end of the current one. Both ends are sent, so the series has
 * exactly `count` points whatever the server's defaults (which differ for the week).
 */
export function periodQuery(name, now = Date.now()) {
  const { bucket, size, count } = PERIODS[name];
  const to = Math.floor(now / size) * size + size;
  return { bucket, from: new Date(to - count * size).toISOString(), to: new Date(to).toISOString() };
}

/** A group of buttons, the chosen one pressed, and Refresh: counts reach the server every few seconds. */
export function periodSwitcher(initial, onChange, onRefresh) {
  const buttons = Object.entries(PERIODS).map(([name, period]) =>
    el(
      'button',
      {
        type: 'button',
        'data-period': name,
        'aria-pressed': String(name === initial),
        onclick: () => {
          for (const button of buttons) button.setAttribute('aria-pressed', String(button.dataset.period === name));
          onChange(name);
        },
      },
      period.label,
    ),
  );
  return el(
    'div',
    { class: 'toolbar periods' },
    el('span', { class: 'segmented', role: 'group', 'aria-label': 'Period' }, buttons),
    el('button', { type: 'button', class: 'refresh', onclick: onRefresh }, 'Refresh'),
  );
}
