// Entry point of the admin web UI: who the user is, the tabs, and the dialogs' close buttons.
import { ActivityView } from './activity-view.js';
import { api, describeError } from './api-client.js';
import { ApisView } from './apis-view.js';
import { byId, notify } from './dom.js';
import { TokensView } from './tokens-view.js';
import { UsageView } from './usage-view.js';

const TABS = ['apis', 'tokens', 'usage', 'activity'];

function meta(name) {
  return document.querySelector(`meta[name="${name}"]`)?.getAttribute('content') ?? '';
}

function setUpDialogs() {
  // Buttons marked data-close close their dialog with their value: no inline handlers (the CSP forbids them).
  for (const button of document.querySelectorAll('dialog [data-close]')) {
    button.addEventListener('click', () => button.closest('dialog').close(button.value));
  }
}

function setUpTabs(views) {
  const tabs = Object.fromEntries(TABS.map((name) => [name, byId(`tab-${name}`)]));
  const show = (name) => {
    for (const [key, tab] of Object.entries(tabs)) {
      const selected = key === name;
      tab.setAttribute('aria-selected', String(selected));
      byId(`${key}-panel`).hidden = !selected;
    }
    if (window.location.hash !== `#${name}`) window.history.replaceState(null, '', `#${name}`);
    void views[name].refresh();
  };
  for (const [name, tab] of Object.entries(tabs)) tab.addEventListener('click', () => show(name));
  const linked = window.location.hash.slice(1);
  show(TABS.includes(linked) ? linked : 'apis');
}

async function start() {
  setUpDialogs();
  let me;
  try {
    me = await api('GET', 'me');
  } catch (error) {
    notify(await describeError(error), 'error');
    return;
  }
  byId('user').textContent = `Signed in as ${me.name}`;
  const settings = {
    endpointBasePath: meta('udapi-endpoint-base-path'),
    maxUrlPathLength: Number(meta('udapi-max-url-path-length')),
  };
  const views = {
    apis: new ApisView(byId('apis-panel'), me.permissions, settings),
    tokens: new TokensView(byId('tokens-panel'), me.permissions),
    usage: new UsageView(byId('usage-panel'), me.permissions),
    activity: new ActivityView(byId('activity-panel')),
  };
  document.body.dataset.ready = 'true';
  setUpTabs(views);
}

void start();
