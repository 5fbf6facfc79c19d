// The console's entry: signing in, the page router (`#/page/…`), and the header.

import { api, setCsrf, signedOutHere, whenSignedOut } from './api.js';
import { h, fill, labelled, toast } from './dom.js';
import { overview } from './pages/overview.js';
import { plugins } from './pages/plugins.js';
import { connectors, editor } from './pages/connectors.js';
import { cache } from './pages/cache.js';
import { history } from './pages/history.js';
import { logs } from './pages/logs.js';
import { scanModes } from './pages/scan-modes.js';

const main = document.getElementById('main');
let leave = null;
// The first page of a load keeps the browser's own focus (Tab reaches the skip link first);
// later pages move it to their content, so that a screen reader reads the new page.
let first = true;

const pages = {
  overview, plugins, connectors, cache, history, logs,
  connector: editor,
  'scan-modes': scanModes,
};

function signIn(message) {
  if (leave) { leave(); leave = null; }
  document.getElementById('nav').hidden = true;
  document.getElementById('sign-out').hidden = true;
  const token = h('input', { type: 'password', id: 'token', autocomplete: 'current-password', required: true });
  const problem = h('p', { class: 'problem', role: 'alert', hidden: !message }, message || '');
  const form = h('form', { class: 'sign-in', 'aria-labelledby': 'sign-in-title' },
    h('h1', { id: 'sign-in-title' }, 'Sign in'),
    h('p', {}, 'Enter the admin token: the admin-token file in the gateway\'s data folder (or engine.admin.token).'),
    labelled('Admin token', token), problem,
    h('button', { type: 'submit' }, 'Sign in'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const s = await api('POST', '/console-session', { token: token.value });
      setCsrf(s.csrf);
      if (!location.hash || location.hash === '#/sign-in') location.hash = '#/overview';
      start();
    } catch (err) {
      problem.hidden = false;
      problem.textContent = err.message;
      token.select();
    }
  });
  fill(main, form);
  token.focus();
}

whenSignedOut(() => signIn('Your session ended: sign in again.'));

// Each navigation draws into a view of its own: a page still loading when the user has moved
// on draws into a detached view, and its streams are closed as soon as it returns.
let navigation = 0;

async function route() {
  if (location.hash && !location.hash.startsWith('#/')) return; // an anchor, not a page
  if (leave) { leave(); leave = null; }
  const nav = ++navigation;
  const [name, ...args] = (location.hash.replace(/^#\/?/, '') || 'overview').split('/').map(decodeURIComponent);
  const page = pages[name] || overview;
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.getAttribute('href') === `#/${name === 'connector' ? 'connectors' : name}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const view = h('div');
  fill(main, view);
  try {
    const cleanup = await page(view, ...args) || null;
    if (nav === navigation) leave = cleanup;
    else if (cleanup) cleanup();
  } catch (err) {
    fill(view, h('p', { class: 'problem', role: 'alert' }, err.message));
  }
  if (nav !== navigation) return;
  if (!first) main.focus({ preventScroll: true });
  first = false;
}

function start() {
  document.getElementById('nav').hidden = false;
  document.getElementById('sign-out').hidden = false;
  api('GET', '/api/status/page?limit=1')
    .then((s) => { document.getElementById('engine').textContent = `engine ${s.engine}`; })
    .catch(() => {});
  route();
}

document.querySelector('.skip').addEventListener('click', (e) => {
  e.preventDefault();
  main.focus();
});

document.getElementById('sign-out').addEventListener('click', async () => {
  try { await api('DELETE', '/console-session'); } catch { /* already gone */ }
  setCsrf(null);
  signedOutHere();
  signIn('Signed out.');
});

window.addEventListener('hashchange', () => { if (!document.getElementById('nav').hidden) route(); });

(async () => {
  try {
    const s = await api('GET', '/console-session');
    setCsrf(s.csrf);
    start();
  } catch {
    signIn();
  }
})();

export { toast };
