// DOM helpers of the admin UI: elements built from text only (never from HTML strings), dates, modal dialogs, copying.

/**
 * Creates an element. Children are nodes or strings; strings become text nodes, so user content is never parsed
 * as HTML. Attributes starting with "on" are event listeners; true sets an empty attribute; false/null/undefined skip it.
 */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  return fill(node, ...children);
}

/** Replaces a node's children; null, undefined and false are left out (replaceChildren would print them). */
export function fill(node, ...children) {
  node.replaceChildren(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return node;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** Like el, for SVG elements, which only render when made in the SVG namespace; attributes only, no listeners. */
export function svgEl(tag, attributes = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes))
    if (value !== undefined && value !== null && value !== false) node.setAttribute(name, String(value));
  return fill(node, ...children);
}

export function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`The page has no #${id}`);
  return node;
}

/** An ISO-8601 UTC time as "2026-11-23 11:47:27 UTC". */
export function formatTime(iso) {
  return typeof iso === 'string' ? iso.replace('T', ' ').replace(/(\.\d+)?Z$/, ' UTC') : '';
}

/** "who" above "when", for the created and modified columns. */
export function auditCell(by, at) {
  return el('span', { class: 'audit' }, el('span', {}, by ?? ''), el('time', { datetime: at }, formatTime(at)));
}

/** Opens a modal dialog; resolves with its returnValue once it closes (Escape closes it with ''). */
export function showModal(dialog) {
  return new Promise((resolve) => {
    dialog.returnValue = '';
    dialog.addEventListener('close', () => resolve(dialog.returnValue), { once: true });
    dialog.showModal();
  });
}

/** Asks for confirmation in the page's confirm dialog; resolves true when the user confirms. */
export async function confirmAction(title, message, confirmLabel) {
  const dialog = byId('confirm-dialog');
  byId('confirm-title').textContent = title;
  byId('confirm-message').textContent = message;
  byId('confirm-ok').textContent = confirmLabel;
  return (await showModal(dialog)) === 'confirm';
}

/** Copies text to the clipboard; falls back to a selection copy where the Clipboard API is unavailable (plain HTTP). */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = el('textarea', { class: 'offscreen', readonly: true });
    area.value = text;
    document.body.append(area);
    area.select();
    const copied = document.execCommand('copy');
    area.value = '';
    area.remove();
    return copied;
  }
}

let noticeTimer;

/** Shows a short message in the status bar; errors stay until the next message. */
export function notify(message, kind = 'info') {
  const bar = byId('status');
  bar.replaceChildren(...(Array.isArray(message) ? message : [message]).map((line) => el('div', {}, line)));
  bar.className = kind;
  clearTimeout(noticeTimer);
  if (kind !== 'error') noticeTimer = setTimeout(() => bar.replaceChildren(), 6000);
}

/** Shows problems next to a form's fields: one line per problem, or nothing. */
export function showProblems(container, problems) {
  container.replaceChildren(...problems.map((problem) => el('li', {}, problem)));
  container.hidden = problems.length === 0;
}
