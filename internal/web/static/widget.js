/*
 * Switchboard web chat widget.
 *
 * Put it on a site with
 *
 *   <script src="https://switchboard.example/widget.js" data-inbox="INBOX_TOKEN" async></script>
 *
 * A site that knows who its visitor is can vouch for them (the hash is
 * hex(HMAC-SHA256(inbox secret, identifier)), computed on the site's server):
 *
 *   window.SwitchboardSettings = {identifier, identifier_hash, name, email};
 *
 * or data-identifier, data-identifier-hash, data-name, data-email on the tag.
 *
 * The widget draws itself in a shadow root (its styles neither leak into nor
 * come from the page), talks to Switchboard's /public/v1 API with a visitor
 * token it keeps in localStorage per inbox, and follows the conversation
 * over server-sent events. Message content is only ever set as text.
 */
(() => {
  'use strict';

  const script = document.currentScript ||
    Array.from(document.querySelectorAll('script[data-inbox]')).find((s) => /\/widget\.js(?:[?#]|$)/.test(s.src));
  const INBOX = script && script.dataset.inbox;
  if (!INBOX) return;
  // Loaded twice for the same inbox: the first copy does the work.
  const once = Symbol.for('switchboard.widget:' + INBOX);
  if (window[once]) return;
  window[once] = true;

  const BASE = script.src.replace(/\/widget\.js(?:[?#].*)?$/, '');
  const MAX_IMAGE = 10 << 20;
  const MAX_FILE = 20 << 20;
  const MAX_TEXT = 4096;
  const MAX_FILES = 10;
  const PAGE = 30;
  const RETRIES = [1, 2, 4, 8, 15, 30]; // seconds between send attempts
  const ACCEPT = 'image/jpeg,image/png,image/gif,image/webp,.pdf,.docx,.xlsx,.pptx,.zip,.txt,.csv,.mp3,.m4a,.mp4,.ogg';

  // ---- Storage: the visitor token and position, per inbox. ----------------

  const KEY = 'switchboard:' + INBOX;
  // saved is what survives a reload: token, identifier (whose token it is),
  // seq (last event seen), read (newest reply shown), outbox (unsent texts).
  let saved = readStore();

  function readStore() {
    try {
      return JSON.parse(localStorage.getItem(KEY)) || {};
    } catch {
      return {}; // storage blocked (private mode, sandboxed frame): memory only
    }
  }

  function save(patch) {
    Object.assign(saved, patch);
    try {
      localStorage.setItem(KEY, JSON.stringify(saved));
    } catch { /* memory only */ }
  }

  function sessionFlag(name, value) {
    try {
      if (value === undefined) return sessionStorage.getItem(KEY + ':' + name) === '1';
      sessionStorage.setItem(KEY + ':' + name, value ? '1' : '0');
    } catch { /* ignore */ }
    return false;
  }

  // identity reads the site's settings when needed: they may be set after
  // this script has loaded.
  function identity() {
    const s = window.SwitchboardSettings || {};
    const d = script.dataset;
    const str = (v) => (v == null ? '' : String(v));
    return {
      identifier: str(s.identifier || d.identifier),
      identifier_hash: str(s.identifier_hash || d.identifierHash),
      name: str(s.name || d.name),
      email: str(s.email || d.email),
    };
  }

  // ---- The API. -------------------------------------------------------------

  class APIError extends Error {
    constructor(status, message, retryAfter) {
      super(message);
      this.status = status; // 0 when the server could not be reached
      this.retryAfter = retryAfter; // seconds, from Retry-After
    }
  }

  async function api(method, path, body, authed = true) {
    const headers = {};
    const token = saved.token;
    if (authed) {
      if (!token) throw new APIError(401, 'No chat session.');
      headers.Authorization = 'Bearer ' + token;
    }
    if (body !== undefined && !(body instanceof FormData)) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(BASE + path, { method, headers, body, credentials: 'omit' });
    } catch {
      throw new APIError(0, 'The chat cannot be reached. Check your connection.');
    }
    const data = res.status === 204 ? null : await res.json().catch(() => null);
    if (res.ok) return data;
    const msg = (data && data.error && data.error.message) || 'The chat could not do this (error ' + res.status + ').';
    const err = new APIError(res.status, msg, parseInt(res.headers.get('Retry-After'), 10) || 0);
    if (res.status === 401 && authed && saved.token === token) dropSession();
    throw err;
  }

  // ---- The page elements. ------------------------------------------------------

  // h builds an element; strings become text nodes, never markup.
  function h(tag, props, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v == null || v === false) continue;
      if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : v);
    }
    el.append(...children.filter((c) => c != null));
    return el;
  }

  function icon(d) {
    const ns = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    const p = document.createElementNS(ns, 'path');
    p.setAttribute('d', d);
    svg.append(p);
    return svg;
  }

  const ICON = {
    chat: 'M21 12a8 8 0 0 1-11.6 7.1L4 21l1.9-5.4A8 8 0 1 1 21 12z',
    close: 'M6 6l12 12M18 6L6 18',
    clip: 'M21.4 11l-9.2 9.2a6 6 0 0 1-8.5-8.5l9.2-9.2a4 4 0 0 1 5.7 5.7l-9.2 9.2a2 2 0 0 1-2.8-2.8l8.5-8.5',
    send: 'M22 2L11 13M22 2l-7 20-4-9-9-4 20-7z',
    file: 'M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8zM14 2v6h6',
  };

  const CSS = `
:host{all:initial;position:fixed;right:20px;bottom:20px;z-index:2147483000;color:#1f2937;
  font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
  --accent:#2563eb;--on-accent:#fff}
*{box-sizing:border-box}
[hidden]{display:none!important}
button{font:inherit;color:inherit;cursor:pointer;margin:0}
:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
svg{width:22px;height:22px;fill:none;stroke:currentColor;stroke-width:2;stroke-linecap:round;stroke-linejoin:round;flex:none}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.launcher{position:relative;width:56px;height:56px;border-radius:50%;border:0;padding:0;display:grid;place-items:center;
  background:var(--accent);color:var(--on-accent);box-shadow:0 4px 16px rgba(0,0,0,.25);transition:transform .15s}
.launcher:hover{transform:scale(1.06)}
.launcher svg{width:28px;height:28px}
.badge{position:absolute;top:-4px;right:-4px;min-width:22px;height:22px;padding:0 6px;border-radius:11px;border:2px solid #fff;
  background:#dc2626;color:#fff;font-size:12px;font-weight:700;line-height:18px;text-align:center}
.panel{position:absolute;right:0;bottom:72px;width:370px;height:min(600px,calc(100vh - 112px));display:flex;flex-direction:column;
  background:#fff;border-radius:14px;box-shadow:0 12px 40px rgba(0,0,0,.28);overflow:hidden}
header{display:flex;align-items:center;gap:8px;padding:14px 12px 14px 18px;background:var(--accent);color:var(--on-accent)}
h2{flex:1;margin:0;font-size:17px;font-weight:600;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.icon{display:grid;place-items:center;width:36px;height:36px;padding:0;border:0;border-radius:8px;background:none}
header .icon:hover{background:rgba(255,255,255,.18)}
.log{flex:1;overflow-y:auto;padding:14px 12px;background:#f7f8fa;overscroll-behavior:contain}
.greeting{margin-bottom:8px}
.older{display:block;margin:0 auto 10px;padding:4px 12px;border:1px solid #d1d5db;border-radius:14px;background:#fff;font-size:13px}
ol{list-style:none;margin:0;padding:0;display:flex;flex-direction:column;gap:8px}
.msg{display:flex;flex-direction:column;align-items:flex-start;max-width:82%}
.msg.visitor{align-self:flex-end;align-items:flex-end}
.bubble{padding:8px 12px;border-radius:16px 16px 16px 4px;background:#e9ebef;white-space:pre-wrap;overflow-wrap:anywhere}
.visitor .bubble{border-radius:16px 16px 4px 16px;background:var(--accent);color:var(--on-accent)}
.bubble p{margin:0}
.bubble a{color:inherit}
.bubble img{display:block;max-width:100%;max-height:240px;border-radius:10px;margin:2px 0}
.file{display:flex;align-items:center;gap:6px;margin:2px 0}
.meta{margin-top:2px;font-size:11.5px;color:#6b7280}
.failed .meta{color:#b91c1c}
.failed .bubble{opacity:.7}
.link{padding:0 2px;border:0;background:none;color:#1d4ed8;text-decoration:underline;font-size:inherit}
.notice{margin:0;padding:8px 14px;background:#fef2f2;color:#991b1b;font-size:13.5px;border-top:1px solid #fecaca}
form{display:flex;align-items:flex-end;gap:4px;padding:8px;border-top:1px solid #e5e7eb;background:#fff}
textarea{flex:1;min-height:40px;max-height:140px;padding:9px 10px;border:1px solid #d1d5db;border-radius:10px;resize:none;
  font:inherit;color:inherit;background:#fff}
textarea:focus{outline:none;border-color:var(--accent);box-shadow:0 0 0 2px color-mix(in srgb,var(--accent) 30%,transparent)}
form .icon{width:40px;height:40px;color:#4b5563}
form .icon:hover{background:#f3f4f6}
form .send{color:var(--accent)}
@media (max-width:480px){
  :host{right:14px;bottom:14px}
  .panel{position:fixed;inset:0;width:auto;height:100%;border-radius:0}
  .open .launcher{display:none}
  textarea{font-size:16px}
}
@media (prefers-reduced-motion:reduce){.launcher{transition:none}}
`;

  // Styles go in a constructed stylesheet: a page's Content-Security-Policy
  // (style-src without 'unsafe-inline') blocks <style> elements, even in a
  // shadow root, but not constructed sheets. Older browsers get a <style>.
  function sheet(root, css) {
    try {
      const s = new CSSStyleSheet();
      s.replaceSync(css);
      root.adoptedStyleSheets = [...root.adoptedStyleSheets, s];
      return (text) => s.replaceSync(text);
    } catch {
      const el = h('style', null, css);
      root.append(el);
      return (text) => { el.textContent = text; };
    }
  }

  const host = document.createElement('switchboard-chat');
  const root = host.attachShadow({ mode: 'open' });
  sheet(root, CSS);
  const setTheme = sheet(root, '');

  const badge = h('span', { class: 'badge', 'aria-hidden': 'true', hidden: true });
  const launcher = h('button', { type: 'button', class: 'launcher', 'aria-expanded': 'false', 'aria-controls': 'sb-panel', onclick: () => toggle() },
    icon(ICON.chat), badge);
  const title = h('h2', { id: 'sb-title' });
  const older = h('button', { type: 'button', class: 'older', hidden: true, onclick: () => loadOlder() }, 'Load older messages');
  const list = h('ol', { class: 'messages' });
  const log = h('div', { class: 'log', role: 'log', 'aria-labelledby': 'sb-title', tabindex: '0' }, older, list);
  const notice = h('p', { class: 'notice', role: 'alert', hidden: true });
  const fileInput = h('input', { type: 'file', multiple: true, accept: ACCEPT, hidden: true, onchange: () => { sendFiles(Array.from(fileInput.files)); fileInput.value = ''; } });
  const textarea = h('textarea', { rows: '1', placeholder: 'Write a message…', 'aria-label': 'Message', maxlength: String(MAX_TEXT * 2), onkeydown: onKey, oninput: grow, onpaste: onPaste });
  const form = h('form', { onsubmit: (e) => { e.preventDefault(); sendText(); } },
    h('button', { type: 'button', class: 'icon', 'aria-label': 'Attach a file', title: 'Attach a file', onclick: () => fileInput.click() }, icon(ICON.clip)),
    fileInput, textarea,
    h('button', { type: 'submit', class: 'icon send', 'aria-label': 'Send', title: 'Send' }, icon(ICON.send)));
  const panel = h('section', { id: 'sb-panel', class: 'panel', role: 'dialog', 'aria-labelledby': 'sb-title', hidden: true, onkeydown: (e) => { if (e.key === 'Escape') close(); } },
    h('header', null, title, h('button', { type: 'button', class: 'icon', 'aria-label': 'Close chat', title: 'Close', onclick: () => close() }, icon(ICON.close))),
    log, notice, form);
  const frame = h('div', { class: 'frame' }, panel, launcher);
  root.append(frame);

  // ---- Messages. ----------------------------------------------------------

  // items holds every message shown, by key: "m<id>" once stored, "c<client
  // id>" while only the widget has it. byClient finds a sent message's item
  // when the server's copy arrives.
  const items = new Map();
  const byClient = new Map();
  let cursor = ''; // next_cursor of the oldest page loaded
  let loaded = false; // the newest page has been loaded
  let inboxName = 'Chat';
  let greeting = null;
  let renderQueued = false;
  let stickToBottom = true; // the next render scrolls to the newest message
  let keepOffset = false; // the next render adds older messages above

  // upsert merges a message from the server (history, a send's answer or
  // the stream) into what is shown.
  function upsert(m) {
    let it = items.get('m' + m.id);
    if (!it && m.client_id) {
      it = byClient.get(m.client_id);
      if (it) items.delete(it.key);
    }
    it = it || {};
    if (it.previews) it.previews.forEach((u) => URL.revokeObjectURL(u));
    Object.assign(it, {
      key: 'm' + m.id, id: m.id, clientId: m.client_id || '', from: m.from, text: m.text || '',
      attachments: m.attachments || [], created: new Date(m.created_at), state: 'stored', error: '', files: null, previews: null,
    });
    items.set(it.key, it);
    if (it.clientId) byClient.set(it.clientId, it);
    changed(it);
  }

  function changed(it) {
    it.dirty = true;
    if (!renderQueued) {
      renderQueued = true;
      Promise.resolve().then(render);
    }
  }

  // order: stored messages by id, then the ones still being sent.
  function order(a, b) {
    if (a.id && b.id) return a.id - b.id;
    if (a.id || b.id) return a.id ? -1 : 1;
    return a.created - b.created;
  }

  function render() {
    renderQueued = false;
    const fromBottom = log.scrollHeight - log.scrollTop;
    const atBottom = stickToBottom || fromBottom - log.clientHeight < 40;
    let prev = null;
    for (const it of [...items.values()].sort(order)) {
      if (it.dirty || !it.el) {
        const el = draw(it);
        if (it.el) it.el.replaceWith(el);
        it.el = el;
        it.dirty = false;
      }
      const want = prev ? prev.el.nextSibling : list.firstChild;
      if (want !== it.el) list.insertBefore(it.el, want);
      prev = it;
    }
    older.hidden = !cursor;
    // Stay at the bottom when there; keep what the reader looks at when
    // older messages come in above.
    if (atBottom) log.scrollTop = log.scrollHeight;
    else if (keepOffset) log.scrollTop = log.scrollHeight - fromBottom;
    stickToBottom = keepOffset = false;
    updateBadge();
  }

  function draw(it) {
    const li = h('li', { class: 'msg ' + (it.from === 'visitor' ? 'visitor' : 'business') + (it.state === 'failed' ? ' failed' : '') });
    const bubble = h('div', { class: 'bubble' }, h('span', { class: 'sr' }, it.from === 'visitor' ? 'You: ' : inboxName + ': '));
    for (const a of it.attachments) bubble.append(attachment(a));
    if (it.text) bubble.append(h('p', null, ...linkify(it.text)));
    li.append(bubble);
    const meta = h('div', { class: 'meta' });
    if (it.state === 'sending') meta.append('Sending…');
    else if (it.state === 'failed') {
      meta.append('Not sent: ' + it.error + ' ');
      if (it.retryable) meta.append(h('button', { type: 'button', class: 'link', onclick: () => retry(it) }, 'Retry'));
      meta.append(h('button', { type: 'button', class: 'link', onclick: () => discard(it) }, 'Remove'));
    } else meta.append(h('time', { datetime: it.created.toISOString() }, when(it.created)));
    li.append(meta);
    return li;
  }

  function attachment(a) {
    const url = a.id ? fileURL(a.id) : a.url;
    if (!url) return h('span', { class: 'file' }, icon(ICON.file), a.filename + ' (' + size(a.size) + ')');
    if (a.kind === 'image') {
      return h('a', { href: url, target: '_blank', rel: 'noopener' }, h('img', { src: url, alt: a.filename, loading: 'lazy' }));
    }
    return h('a', { class: 'file', href: url, target: '_blank', rel: 'noopener' }, icon(ICON.file), a.filename + ' (' + size(a.size) + ')');
  }

  function fileURL(id) {
    return BASE + '/public/v1/attachments/' + id + '?token=' + encodeURIComponent(saved.token || '');
  }

  // linkify turns web addresses in text into links; everything stays text.
  function linkify(text) {
    const out = [];
    let last = 0;
    for (const m of text.matchAll(/\bhttps?:\/\/[^\s<>"]*[^\s<>"'.,;:!?)\]}]/g)) {
      out.push(text.slice(last, m.index), h('a', { href: m[0], target: '_blank', rel: 'noopener noreferrer nofollow' }, m[0]));
      last = m.index + m[0].length;
    }
    out.push(text.slice(last));
    return out;
  }

  function when(d) {
    const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    return d.toDateString() === new Date().toDateString() ? time : d.toLocaleDateString([], { month: 'short', day: 'numeric' }) + ', ' + time;
  }

  function size(n) {
    if (n < 1024) return n + ' B';
    if (n < 1 << 20) return Math.round(n / 1024) + ' KB';
    return (n / (1 << 20)).toFixed(1) + ' MB';
  }

  function newestReply() {
    let n = 0;
    for (const it of items.values()) if (it.from === 'business' && it.id > n) n = it.id;
    return n;
  }

  // ---- History. -------------------------------------------------------------

  // refresh loads the newest page and merges it.
  async function refresh() {
    const page = await api('GET', '/public/v1/messages?limit=' + PAGE);
    if (!loaded) {
      cursor = page.next_cursor || '';
      loaded = true;
      stickToBottom = true;
    }
    page.items.forEach(upsert);
    acknowledge();
  }

  async function loadOlder() {
    if (!cursor) return;
    try {
      const page = await api('GET', '/public/v1/messages?limit=' + PAGE + '&cursor=' + encodeURIComponent(cursor));
      cursor = page.next_cursor || '';
      keepOffset = true;
      page.items.forEach(upsert);
      render();
    } catch (err) {
      show(err.message);
    }
  }

  // forget removes the stored messages (a new session, or a resync).
  function forget() {
    for (const [key, it] of items) {
      if (it.state !== 'stored') continue;
      items.delete(key);
      if (it.clientId) byClient.delete(it.clientId);
      if (it.el) it.el.remove();
    }
    cursor = '';
    loaded = false;
    render();
  }

  // ---- The session. -----------------------------------------------------------

  let starting = null;

  // ensureSession starts a session unless there is one.
  function ensureSession() {
    if (saved.token) return Promise.resolve();
    starting = starting || startSession().finally(() => { starting = null; });
    return starting;
  }

  async function startSession() {
    const id = identity();
    // Another tab of the same site may have started one meanwhile.
    const other = readStore();
    if (other.token && (other.identifier || '') === id.identifier) {
      saved = other;
      connect();
      return;
    }
    const body = {};
    for (const k of ['name', 'email', 'identifier', 'identifier_hash']) if (id[k]) body[k] = id[k];
    const path = '/public/v1/inboxes/' + encodeURIComponent(INBOX) + '/sessions';
    let s;
    try {
      s = await api('POST', path, body, false);
    } catch (err) {
      // A name or email the server refuses must not keep the visitor out.
      if (err.status !== 422 || !(body.name || body.email)) throw err;
      delete body.name;
      delete body.email;
      s = await api('POST', path, body, false);
    }
    save({ token: s.token, identifier: id.identifier, seq: null, read: 0 });
    loaded = true; // a new session has no history
    connect();
  }

  // dropSession forgets a token the server refused; the next send starts a
  // new session.
  function dropSession() {
    save({ token: null, seq: null, read: 0 });
    disconnect();
    forget();
  }

  // ---- Live updates. --------------------------------------------------------

  let stream = null;
  let streamFailures = 0;
  let streamTimer = 0;

  function connect() {
    disconnect();
    if (!saved.token) return;
    const q = new URLSearchParams({ token: saved.token });
    if (saved.seq != null) q.set('since', saved.seq);
    const es = new EventSource(BASE + '/public/v1/stream?' + q);
    stream = es;
    const position = (e) => {
      const seq = parseInt(e.lastEventId, 10);
      if (seq >= 0) save({ seq });
    };
    es.addEventListener('open', () => { streamFailures = 0; });
    // hello: a first connection; what came before it is in the history.
    es.addEventListener('hello', (e) => { position(e); refresh().catch(() => {}); });
    // resync: too much was missed to replay; start again from the history.
    es.addEventListener('resync', (e) => { position(e); forget(); refresh().catch(() => {}); });
    es.addEventListener('message', (e) => {
      let m;
      try {
        m = JSON.parse(e.data);
      } catch {
        return;
      }
      upsert(m);
      position(e);
      if (m.from === 'business') acknowledge();
    });
    es.addEventListener('error', () => {
      // While CONNECTING the browser retries by itself (with Last-Event-ID).
      // CLOSED means the server refused: check the session, then retry.
      if (es !== stream || es.readyState !== EventSource.CLOSED) return;
      stream = null;
      connectLater();
    });
  }

  // connectLater reconnects after a growing delay, once the history loads
  // (a refused token is dropped on the way).
  function connectLater() {
    clearTimeout(streamTimer);
    const delay = Math.min(30, 2 ** streamFailures++) * 1000;
    streamTimer = setTimeout(() => refresh().then(connect, (err) => { if (err.status !== 401) connectLater(); }), delay);
  }

  function disconnect() {
    clearTimeout(streamTimer);
    if (stream) stream.close();
    stream = null;
  }

  // ---- Delivered and read. ------------------------------------------------------

  let ackTimer = 0;
  let ackedDelivered = 0;
  let ackedRead = 0;

  function visible() {
    return !panel.hidden && document.visibilityState === 'visible';
  }

  // acknowledge tells the server, shortly, which replies arrived and, when
  // the panel is open and visible, which were read.
  function acknowledge() {
    if (visible()) {
      const n = newestReply();
      if (n > (saved.read || 0)) save({ read: n });
    }
    updateBadge();
    clearTimeout(ackTimer);
    ackTimer = setTimeout(async () => {
      const n = newestReply();
      const read = visible();
      if (!n || !saved.token || n <= (read ? ackedRead : Math.max(ackedDelivered, ackedRead))) return;
      try {
        await api('POST', '/public/v1/seen', { up_to: n, read });
        if (read) ackedRead = Math.max(ackedRead, n);
        ackedDelivered = Math.max(ackedDelivered, n);
      } catch { /* the next reply acknowledges again */ }
    }, 300);
  }

  function updateBadge() {
    let unread = 0;
    for (const it of items.values()) if (it.from === 'business' && it.id > (saved.read || 0)) unread++;
    badge.hidden = unread === 0 || !panel.hidden;
    badge.textContent = unread > 9 ? '9+' : String(unread);
    launcher.setAttribute('aria-label', panel.hidden
      ? 'Open chat with ' + inboxName + (unread ? ' (' + unread + ' unread)' : '')
      : 'Close chat');
  }

  document.addEventListener('visibilitychange', () => { if (visible()) acknowledge(); });

  // ---- Sending. -------------------------------------------------------------

  const queue = [];
  let pumping = false;

  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const x = Array.from(b, (v) => v.toString(16).padStart(2, '0')).join('');
    return x.slice(0, 8) + '-' + x.slice(8, 12) + '-' + x.slice(12, 16) + '-' + x.slice(16, 20) + '-' + x.slice(20);
  }

  function sendText() {
    const text = textarea.value.trim();
    if (!text) return;
    if ([...text].length > MAX_TEXT) {
      show('A message has at most ' + MAX_TEXT + ' characters.');
      return;
    }
    textarea.value = '';
    grow();
    enqueue({ text });
  }

  function sendFiles(files) {
    const ok = [];
    for (const f of files) {
      const image = f.type.startsWith('image/');
      if (f.size > (image ? MAX_IMAGE : MAX_FILE)) {
        show('“' + f.name + '” is too large: images may be at most ' + (MAX_IMAGE >> 20) + ' MB, other files ' + (MAX_FILE >> 20) + ' MB.');
      } else if (!f.size) {
        show('“' + f.name + '” is empty.');
      } else ok.push(f);
    }
    for (let i = 0; i < ok.length; i += MAX_FILES) enqueue({ text: '', files: ok.slice(i, i + MAX_FILES) });
  }

  function enqueue({ text, files, id, created }) {
    hide();
    const it = {
      key: '', clientId: id || uuid(), from: 'visitor', text, created: created ? new Date(created) : new Date(),
      files: files || null, uploaded: [], previews: [], attachments: [],
    };
    for (const f of files || []) {
      const image = f.type.startsWith('image/');
      const url = image ? URL.createObjectURL(f) : '';
      if (url) it.previews.push(url);
      it.attachments.push({ kind: image ? 'image' : 'document', filename: f.name, size: f.size, url });
    }
    it.key = 'c' + it.clientId;
    items.set(it.key, it);
    byClient.set(it.clientId, it);
    stickToBottom = true;
    queue_(it);
  }

  function queue_(it) {
    it.state = 'sending';
    it.error = '';
    changed(it);
    queue.push(it);
    keepOutbox();
    pump();
  }

  // pump sends one message at a time, so they arrive in order.
  async function pump() {
    if (pumping) return;
    pumping = true;
    try {
      while (queue.length) await deliver(queue.shift());
    } finally {
      pumping = false;
      keepOutbox();
    }
  }

  // deliver sends a message, retrying with the same id (the server stores
  // it once) while the network or the server fails.
  async function deliver(it) {
    for (let attempt = 0; ; attempt++) {
      if (it.state !== 'sending') return; // stored meanwhile (the stream), or removed
      try {
        await ensureSession();
        for (const f of (it.files || []).slice(it.uploaded.length)) {
          const fd = new FormData();
          fd.append('file', f, f.name);
          it.uploaded.push((await api('POST', '/public/v1/attachments', fd)).id);
        }
        const body = { id: it.clientId, text: it.text };
        if (it.uploaded.length) body.attachments = it.uploaded;
        upsert(await api('POST', '/public/v1/messages', body));
        return;
      } catch (err) {
        if (it.state !== 'sending') return;
        if (err.status === 401 && attempt < 2) {
          it.uploaded = []; // uploads belonged to the old session
          continue;
        }
        const transient = err.status === 0 || err.status === 429 || err.status >= 500;
        if (!transient || attempt >= RETRIES.length) {
          it.state = 'failed';
          it.error = err.message;
          it.retryable = transient;
          changed(it);
          show(err.message);
          return;
        }
        await pause(Math.max(RETRIES[attempt], Math.min(err.retryAfter || 0, 60)) * 1000);
      }
    }
  }

  // pause waits, or less if the browser comes back online.
  function pause(ms) {
    return new Promise((resolve) => {
      const done = () => { clearTimeout(t); window.removeEventListener('online', done); resolve(); };
      const t = setTimeout(done, ms);
      window.addEventListener('online', done);
    });
  }

  function retry(it) {
    if (it.state === 'failed') queue_(it);
  }

  function discard(it) {
    it.state = 'removed';
    items.delete(it.key);
    byClient.delete(it.clientId);
    (it.previews || []).forEach((u) => URL.revokeObjectURL(u));
    if (it.el) it.el.remove();
    keepOutbox();
    updateBadge();
  }

  // keepOutbox saves unsent texts, so that a reload sends them (files
  // cannot be kept).
  function keepOutbox() {
    const out = [];
    for (const it of items.values()) {
      if ((it.state === 'sending' || (it.state === 'failed' && it.retryable)) && !it.files) {
        out.push({ id: it.clientId, text: it.text, created: it.created.toISOString() });
      }
    }
    save({ outbox: out });
  }

  // ---- The composer and the panel. ------------------------------------------------

  function onKey(e) {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      sendText();
    }
  }

  function onPaste(e) {
    const files = Array.from((e.clipboardData && e.clipboardData.files) || []);
    if (files.length) {
      e.preventDefault();
      sendFiles(files);
    }
  }

  function grow() {
    textarea.style.height = 'auto';
    textarea.style.height = Math.min(textarea.scrollHeight + 2, 140) + 'px';
  }

  let noticeTimer = 0;
  function show(text) {
    notice.textContent = text;
    notice.hidden = false;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(hide, 8000);
  }

  function hide() {
    notice.hidden = true;
  }

  function toggle() {
    if (panel.hidden) open();
    else close();
  }

  function open() {
    panel.hidden = false;
    frame.classList.add('open');
    launcher.setAttribute('aria-expanded', 'true');
    sessionFlag('open', true);
    stickToBottom = true;
    render();
    textarea.focus();
    ensureSession().then(() => {
      if (!loaded) return refresh();
      acknowledge();
    }).catch((err) => show(err.message));
  }

  function close() {
    panel.hidden = true;
    frame.classList.remove('open');
    launcher.setAttribute('aria-expanded', 'false');
    sessionFlag('open', false);
    updateBadge();
    launcher.focus();
  }

  // theme sets the accent colour, with text that stays readable on it.
  function theme(color) {
    if (!/^#[0-9a-fA-F]{6}$/.test(color || '')) return;
    const [r, g, b] = [1, 3, 5].map((i) => parseInt(color.slice(i, i + 2), 16) / 255)
      .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
    const light = 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.4;
    setTheme(':host{--accent:' + color + ';--on-accent:' + (light ? '#111827' : '#fff') + '}');
  }

  // ---- Start. -----------------------------------------------------------------

  async function start() {
    let cfg;
    try {
      cfg = await api('GET', '/public/v1/inboxes/' + encodeURIComponent(INBOX), undefined, false);
    } catch (err) {
      console.warn('Switchboard chat:', err.message);
      return;
    }
    const id = identity();
    if (cfg.require_identity && !id.identifier) {
      console.warn('Switchboard chat: this inbox only accepts verified visitors; set window.SwitchboardSettings = {identifier, identifier_hash}.');
      return;
    }
    // A token of someone else (the site's user changed) is not reused.
    if (saved.token && (saved.identifier || '') !== id.identifier) save({ token: null, seq: null, read: 0, outbox: [] });
    inboxName = cfg.name || 'Chat';
    theme(cfg.color);
    title.textContent = inboxName;
    if (cfg.greeting) {
      greeting = h('li', { class: 'msg business' }, h('div', { class: 'bubble' }, cfg.greeting));
      list.before(h('ol', { class: 'greeting', 'aria-label': 'Greeting' }, greeting));
    }
    updateBadge();
    document.body.append(host);
    for (const o of saved.outbox || []) enqueue(o);
    if (saved.token) {
      connect();
      refresh().catch(() => {});
    }
    if (sessionFlag('open')) open();
  }

  if (document.body) start();
  else document.addEventListener('DOMContentLoaded', start);
})();
