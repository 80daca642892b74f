// A server-paged, searchable table: cursor pages from the admin API, a debounced search box and a total count.
import { describeError } from './api-client.js';
import { el, notify } from './dom.js';

const PAGE_SIZE = 50;
const SEARCH_DELAY_MS = 250;

/**
 * `load({ search, cursor, limit })` resolves with `{ items, nextCursor }`, `count({ search })` with a number;
 * `columns` are `{ title, cell(item) }`; `noun` is `{ one, many }`. Only the newest request's answer is shown, so fast typing never
 * leaves an older result on screen. Lists without a search or a count (the events) leave out `label` or `count`;
 * `emptyText()` then says why a page is empty (their own filters).
 */
export class PagedTable {
  constructor({ container, label, noun, columns, load, count, afterRender, emptyText }) {
    this.columns = columns;
    this.emptyText = emptyText;
    this.load = load;
    this.count = count;
    this.noun = noun;
    this.afterRender = afterRender;
    this.cursors = [undefined];
    this.pageIndex = 0;
    this.nextCursor = null;
    this.search = '';
    this.sequence = 0;

    this.searchBox = el('input', {
      hidden: !label,
      type: 'search',
      placeholder: `Search ${label}`,
      'aria-label': `Search ${label}`,
      maxlength: 200,
    });
    let timer;
    this.searchBox.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(() => this.setSearch(this.searchBox.value.trim()), SEARCH_DELAY_MS);
    });
    this.countLabel = el('span', { class: 'count', 'aria-live': 'polite' });
    this.body = el('tbody');
    this.previous = el('button', { type: 'button', onclick: () => this.turn(-1) }, 'Previous');
    this.next = el('button', { type: 'button', onclick: () => this.turn(1) }, 'Next');
    this.pageLabel = el('span', { class: 'page' });
    this.toolbar = el('div', { class: 'toolbar' }, this.searchBox, this.countLabel);
    container.append(
      this.toolbar,
      el(
        'table',
        {},
        el(
          'thead',
          {},
          el(
            'tr',
            {},
            columns.map((column) => el('th', { scope: 'col' }, column.title)),
          ),
        ),
        this.body,
      ),
      el('div', { class: 'pager' }, this.previous, this.pageLabel, this.next),
    );
  }

  setSearch(search) {
    if (search === this.search) return;
    this.search = search;
    this.restart();
  }

  /** Back to the first page, e.g. after a filter of the caller's own changed. */
  restart() {
    this.cursors = [undefined];
    this.pageIndex = 0;
    void this.refresh();
  }

  turn(step) {
    if (step > 0 && !this.nextCursor) return;
    if (step > 0 && this.cursors.length === this.pageIndex + 1) this.cursors.push(this.nextCursor);
    this.pageIndex = Math.max(0, this.pageIndex + step);
    void this.refresh();
  }

  /** Reloads the current page and the count. */
  async refresh() {
    const sequence = ++this.sequence;
    const search = this.search || undefined;
    try {
      const [page, total] = await Promise.all([
        this.load({ search, cursor: this.cursors[this.pageIndex], limit: PAGE_SIZE }),
        this.count ? this.count({ search }) : null,
      ]);
      if (sequence !== this.sequence) return;
      if (page.items.length === 0 && this.pageIndex > 0) {
        // The page emptied (its items were deleted): step back rather than show an empty page.
        this.cursors.length = this.pageIndex;
        this.pageIndex -= 1;
        await this.refresh();
        return;
      }
      this.nextCursor = page.nextCursor;
      this.render(page.items, total);
      await this.afterRender?.(page.items);
    } catch (error) {
      if (sequence === this.sequence) notify(await describeError(error), 'error');
    }
  }

  render(items, total) {
    this.body.replaceChildren(
      ...(items.length > 0
        ? items.map((item) =>
            el(
              'tr',
              { 'data-id': item.id },
              this.columns.map((column) => el('td', { 'data-column': column.title }, column.cell(item))),
            ),
          )
        : [
            el(
              'tr',
              {},
              el(
                'td',
                { colspan: this.columns.length, class: 'empty' },
                this.emptyText?.() ??
                  (this.search ? `No ${this.noun.many} match "${this.search}".` : `No ${this.noun.many} yet.`),
              ),
            ),
          ]),
    );
    const first = this.pageIndex * PAGE_SIZE + (items.length > 0 ? 1 : 0);
    const last = this.pageIndex * PAGE_SIZE + items.length;
    if (total === null) {
      this.pageLabel.textContent = items.length === 0 ? '' : `${first}–${last}`;
    } else {
      this.countLabel.textContent = `${total} ${total === 1 ? this.noun.one : this.noun.many}`;
      this.pageLabel.textContent = total === 0 ? '' : `${first}–${last} of ${total}`;
    }
    this.previous.disabled = this.pageIndex === 0;
    this.next.disabled = !this.nextCursor;
  }
}
