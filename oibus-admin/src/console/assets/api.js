// The console talks to the gateway only through the admin REST API. The session cookie is
// HttpOnly (scripts cannot read it); every change carries the session's CSRF token.

let csrf = null;
let onSignedOut = () => {};

// The tabs of one browser share the session cookie: signing out in one tells the others at once
// (they would otherwise keep showing figures that no longer change).
const tabs = typeof BroadcastChannel === 'function' ? new BroadcastChannel('oibus-console-session') : null;
if (tabs) tabs.onmessage = (e) => { if (e.data === 'signed-out' && csrf) { csrf = null; onSignedOut(); } };

/** Remembers the CSRF token of the session. */
export function setCsrf(token) { csrf = token; }
/** What to do when the API says the session is gone. */
export function whenSignedOut(f) { onSignedOut = f; }
/** Tells the other tabs that this browser signed out. */
export function signedOutHere() { if (tabs) tabs.postMessage('signed-out'); }

/** An API error: its message, HTTP status and the problems at their JSON pointers. */
export class ApiError extends Error {
  constructor(message, status, problems) {
    super(message);
    this.status = status;
    this.problems = problems || [];
  }
}

/** Calls the API; JSON in and out unless `raw` (a file body). */
export async function api(method, path, body, raw) {
  const init = { method, headers: {}, credentials: 'same-origin' };
  if (csrf && method !== 'GET') init.headers['X-CSRF-Token'] = csrf;
  if (body !== undefined) {
    if (raw) {
      init.body = body;
      init.headers['Content-Type'] = 'application/octet-stream';
    } else {
      init.body = JSON.stringify(body);
      init.headers['Content-Type'] = 'application/json';
    }
  }
  let r;
  try {
    r = await fetch(path, init);
  } catch (e) {
    throw new ApiError(`the gateway does not answer (${e.message})`, 0, []);
  }
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!r.ok) {
    if (r.status === 401 && !path.startsWith('/console-session')) onSignedOut();
    const message = (data && data.error) || `${r.status} ${r.statusText}`;
    throw new ApiError(message, r.status, data && data.problems);
  }
  return data;
}

/** A query string from an object, leaving out empty values. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, v);
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** Follows server-sent events of `path`; returns a function that stops. */
export function follow(path, event, onData, onState) {
  const source = new EventSource(path, { withCredentials: true });
  source.addEventListener(event, (e) => {
    try { onData(JSON.parse(e.data)); } catch { /* a comment or a partial line */ }
  });
  source.addEventListener('lagged', (e) => onState && onState(`lagged: ${e.data}`));
  source.onopen = () => onState && onState('live');
  // EventSource retries for ever and never says why it failed: ask whether the session still
  // lives, and if not, stop and sign in again instead of "reconnecting…" over frozen figures.
  source.onerror = async () => {
    if (onState) onState('reconnecting…');
    try {
      const r = await fetch('/console-session', { credentials: 'same-origin' });
      if (r.status === 401) { source.close(); csrf = null; onSignedOut(); }
    } catch { /* the gateway is down: EventSource keeps trying */ }
  };
  return () => source.close();
}
