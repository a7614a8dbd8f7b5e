/*
 * Switchboard web chat widget. A site embeds it with
 *
 *   <script src="https://switchboard.example/widget.js" data-inbox="INBOX_TOKEN" async></script>
 *
 * and may vouch for a signed-in visitor (identifier_hash is
 * hex(HMAC-SHA256(inbox secret, identifier)), computed on the site's server):
 *
 *   window.SwitchboardSettings = {identifier, identifier_hash, name, email};
 *
 * or data-identifier, data-identifier-hash, data-name, data-email on the tag.
 *
 * It draws itself in a shadow root, talks to /public/v1 with a visitor token
 * kept in localStorage per inbox (always in the Authorization header, never
 * in a URL), and follows the conversation over server-sent events. It speaks
 * the site's language (data-lang on the tag, else <html lang>, else the
 * browser's) when Switchboard has it. Message content is only ever set as
 * text. A business's message may carry reply buttons, a list or a link
 * button (interactive); a tap on a button or a row is sent as a message
 * with the choice (reply: {message_id, id}).
 */
(() => {
  'use strict';

  const script = document.currentScript ||
    [...document.querySelectorAll('script[data-inbox]')].find((s) => /\/widget\.js(?:[?#]|$)/.test(s.src));
  const INBOX = script && script.dataset.inbox;
  if (!INBOX) return;
  const once = Symbol.for('switchboard.widget:' + INBOX); // loaded twice: the first copy works
  if (window[once]) return;
  window[once] = true;

  const BASE = script.src.replace(/\/widget\.js(?:[?#].*)?$/, '');
  const WANT_LANG = script.dataset.lang || document.documentElement.lang || navigator.language || 'en';
  let LANG = 'en';
  let words = {};
  // t translates the widget's words (the server sends them with the
  // inbox's settings); %s are filled in order.
  const t = (key, ...args) => {
    let i = 0;
    return (words[key] || key).replace(/%s/g, () => String(args[i++]));
  };
  const MAX_IMAGE = 10 << 20;
  const MAX_FILE = 20 << 20;
  const MAX_TEXT = 4096;
  const PAGE = 30;
  const RETRIES = [1, 2, 4, 8, 15, 30]; // seconds between send attempts
  const ACCEPT = 'image/jpeg,image/png,image/gif,image/webp,.pdf,.docx,.xlsx,.pptx,.zip,.txt,.csv,.mp3,.m4a,.mp4,.ogg';

  // ---- Storage

  // saved survives reloads: token, identifier (whose token), seq (the last
  // event seen), read (the newest reply shown), outbox (unsent texts). With
  // storage blocked it lasts as long as the page.
  const KEY = 'switchboard:' + INBOX;
  const readStore = () => { try { return JSON.parse(localStorage.getItem(KEY)) || {}; } catch { return {}; } };
  let saved = readStore();

  function save(patch) {
    Object.assign(saved, patch);
    try { localStorage.setItem(KEY, JSON.stringify(saved)); } catch { /* this page only */ }
  }

  // openFlag keeps the panel open across the pages of a site, in this tab.
  function openFlag(open) {
    try {
      if (open === undefined) return !!sessionStorage.getItem(KEY + ':open');
      sessionStorage.setItem(KEY + ':open', open ? '1' : '');
    } catch { /* ignore */ }
  }

  // identity is read when needed: the site may set it after this script ran.
  function identity() {
    const s = window.SwitchboardSettings || {};
    const d = script.dataset;
    const v = (a, b) => String(a || b || '');
    return { identifier: v(s.identifier, d.identifier), identifier_hash: v(s.identifier_hash, d.identifierHash), name: v(s.name, d.name), email: v(s.email, d.email) };
  }

  // ---- The API

  // api calls /public/v1; errors carry status (0: the server could not be
  // reached) and retryAfter (seconds).
  async function api(method, path, body, authed = true) {
    const headers = { 'Accept-Language': LANG };
    const token = saved.token;
    if (authed) headers.Authorization = 'Bearer ' + token;
    if (body !== undefined && !(body instanceof FormData)) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(body);
    }
    const fail = (status, message, retryAfter, fields) => Object.assign(new Error(message), { status, retryAfter, fields: fields || {} });
    if (authed && !token) throw fail(401, t("The chat session has ended."), 0);
    let res;
    try {
      res = await fetch(BASE + path, { method, headers, body, credentials: 'omit' });
    } catch {
      throw fail(0, t("The chat cannot be reached. Check your connection."), 0);
    }
    const data = res.status === 204 ? null : await res.json().catch(() => null);
    if (res.ok) return data;
    if (res.status === 401 && authed && saved.token === token) dropSession();
    const e = (data && data.error) || {};
    throw fail(res.status, e.message || t("Something went wrong (%s).", res.status), parseInt(res.headers.get('Retry-After'), 10) || 0, e.fields);
  }

  // ---- Elements

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
    list: 'M8 6h13M8 12h13M8 18h13M3 6h.01M3 12h.01M3 18h.01',
    open: 'M14 3h7v7M21 3l-9 9M19 14v5a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V7a2 2 0 0 1 2-2h5',
  };

  const CSS = `
:host{all:initial;position:fixed!important;right:20px!important;bottom:20px!important;z-index:2147483000!important;--accent:#2563eb;--on-accent:#fff}
.sb{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2937;text-align:left}
*{box-sizing:border-box}
[hidden]{display:none!important}
button{font:inherit;color:inherit;cursor:pointer;margin:0}
:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
svg{width:22px;height:22px;fill:none;stroke:currentColor;stroke-width:2;stroke-linecap:round;stroke-linejoin:round;flex:none}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
.launcher{position:relative;width:56px;height:56px;border:0;border-radius:50%;padding:0;display:grid;place-items:center;
background:var(--accent);color:var(--on-accent);box-shadow:0 4px 16px rgba(0,0,0,.25)}
.launcher svg{width:28px;height:28px}
.badge{position:absolute;top:-4px;right:-4px;min-width:22px;height:22px;padding:0 6px;border:2px solid #fff;border-radius:11px;
background:#dc2626;color:#fff;font-size:12px;font-weight:700;line-height:18px;text-align:center}
.panel{position:absolute;right:0;bottom:72px;width:370px;height:min(600px,calc(100vh - 112px));display:flex;flex-direction:column;
background:#fff;border-radius:14px;box-shadow:0 12px 40px rgba(0,0,0,.28);overflow:hidden}
header{display:flex;align-items:center;gap:8px;padding:14px 12px 14px 18px;background:var(--accent);color:var(--on-accent)}
h2{flex:1;margin:0;font-size:17px;font-weight:600;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.icon{display:grid;place-items:center;width:36px;height:36px;padding:0;border:0;border-radius:8px;background:none}
.icon:hover{background:rgba(128,128,128,.18)}
.log{flex:1;overflow-y:auto;padding:14px 12px;background:#f7f8fa;overscroll-behavior:contain}
.older{display:block;margin:0 auto 10px;padding:4px 12px;border:1px solid #d1d5db;border-radius:14px;background:#fff;font-size:13px}
ol{list-style:none;margin:0;padding:0;display:flex;flex-direction:column;gap:8px}
.greeting{margin-bottom:8px}
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
form{display:flex;align-items:flex-end;gap:4px;padding:8px;border-top:1px solid #e5e7eb}
textarea{flex:1;min-height:40px;max-height:140px;padding:9px 10px;border:1px solid #d1d5db;border-radius:10px;resize:none;font:inherit;color:inherit}
textarea:focus{outline:none;border-color:var(--accent);box-shadow:0 0 0 1px var(--accent)}
form .icon{width:40px;height:40px;color:#4b5563}
form .send{color:var(--accent)}
.msg.with-avatar{flex-direction:row;align-items:flex-end;gap:6px}
.msg.with-avatar>div{display:flex;flex-direction:column;align-items:flex-start;min-width:0}
.avatar{width:28px;height:28px;border-radius:50%;object-fit:cover;flex:none;margin-bottom:18px}
.bubble .head{font-weight:600}
.bubble .foot{margin-top:2px;font-size:12.5px;color:#6b7280}
.choices{display:flex;flex-direction:column;gap:4px;margin-top:4px;width:100%;min-width:200px}
.choice{display:flex;align-items:center;justify-content:center;gap:6px;width:100%;padding:7px 12px;border:1px solid #d1d5db;border-radius:12px;
background:#fff;color:#1d4ed8;font-weight:600;text-align:center;text-decoration:none;overflow-wrap:anywhere}
.choice:hover{background:#f3f4f6}
.choice svg{width:18px;height:18px}
.rows{display:flex;flex-direction:column;gap:2px;padding:6px;border:1px solid #d1d5db;border-radius:12px;background:#fff}
.rows h3{margin:6px 6px 2px;font-size:12.5px;font-weight:600;color:#6b7280;text-transform:uppercase;letter-spacing:.02em}
.row{display:flex;flex-direction:column;align-items:flex-start;width:100%;padding:7px 10px;border:0;border-radius:8px;background:none;text-align:left;overflow-wrap:anywhere}
.row:hover{background:#f3f4f6}
.row small{color:#6b7280;font-size:12.5px}
.closed{margin:12px 4px 0;padding:8px 10px;border-radius:10px;background:#fff;border:1px dashed #d1d5db;color:#4b5563;font-size:13.5px;text-align:center}
.typing{display:flex;align-items:center;gap:8px;margin:8px 0 0;color:#6b7280;font-size:13px}
.dots{display:inline-flex;gap:3px;padding:10px 12px;border-radius:16px 16px 16px 4px;background:#e9ebef}
.dots i{width:6px;height:6px;border-radius:50%;background:#6b7280;animation:sb-blink 1.2s infinite ease-in-out}
.dots i:nth-child(2){animation-delay:.2s}.dots i:nth-child(3){animation-delay:.4s}
@keyframes sb-blink{0%,80%,100%{opacity:.25}40%{opacity:1}}
@media (prefers-reduced-motion:reduce){.dots i{animation:none;opacity:.6}}
.prechat{flex-direction:column;align-items:stretch;gap:6px;padding:12px 14px 14px}
.prechat p{margin:0 0 4px;color:#374151;font-size:14px}
.prechat label{display:flex;flex-direction:column;gap:3px;font-size:13.5px;font-weight:600;color:#374151}
.prechat input{padding:8px 10px;border:1px solid #d1d5db;border-radius:8px;font:inherit;font-weight:400;color:inherit}
.prechat input:focus{outline:none;border-color:var(--accent);box-shadow:0 0 0 1px var(--accent)}
.prechat input[aria-invalid=true]{border-color:#b91c1c}
.prechat .error{margin:-1px 0 2px;color:#b91c1c;font-size:12.5px;font-weight:400}
.prechat .start{margin-top:6px;padding:9px 12px;border:0;border-radius:8px;background:var(--accent);color:var(--on-accent);font-weight:600}
@media (max-width:480px){:host{right:14px!important;bottom:14px!important}.panel{position:fixed;inset:0;width:auto;height:100%;border-radius:0}
.open .launcher{display:none}textarea,.prechat input{font-size:16px}}`;

  // The page's styles reach in only through what the host element inherits:
  // the widget's own typography is set on its root element (.sb).
  // The styles are constructed stylesheets: a page's Content-Security-Policy
  // (style-src without 'unsafe-inline') blocks <style> elements, even in a
  // shadow root, but not these. Older browsers get a <style>.
  function sheet(root, css) {
    try {
      const s = new CSSStyleSheet();
      s.replaceSync(css);
      root.adoptedStyleSheets = [...root.adoptedStyleSheets, s];
      return (text) => s.replaceSync(text);
    } catch {
      const el = root.appendChild(h('style', null, css));
      return (text) => { el.textContent = text; };
    }
  }

  const host = document.createElement('switchboard-chat');
  const root = host.attachShadow({ mode: 'open' });
  sheet(root, CSS);
  const setTheme = sheet(root, '');

  const button = (props, ...children) => h('button', { type: 'button', ...props }, ...children);

  // The elements are made once the words are known (build).
  let badge, launcher, title, older, list, log, notice, fileInput, textarea, form, panel, frame;
  let closedLine, typingLine, typingText;
  let prechat, nameInput, emailInput, nameError, emailError;

  function build() {
    badge = h('span', { class: 'badge', 'aria-hidden': 'true', hidden: true });
    launcher = button({ class: 'launcher', 'aria-expanded': 'false', 'aria-controls': 'sb-panel', onclick: () => (panel.hidden ? open() : close()) },
      icon(ICON.chat), badge);
    title = h('h2', { id: 'sb-title' });
    older = button({ class: 'older', hidden: true, onclick: () => loadOlder() }, t("Load older messages"));
    list = h('ol', { class: 'messages' });
    // Shown when the agent closed the conversation: the next message
    // starts a new one.
    closedLine = h('p', { class: 'closed', role: 'status', hidden: true }, t("This conversation was closed. Write to start a new one."));
    typingText = h('span');
    typingLine = h('p', { class: 'typing', role: 'status', hidden: true },
      h('span', { class: 'dots', 'aria-hidden': 'true' }, h('i'), h('i'), h('i')), typingText);
    log = h('div', { class: 'log', role: 'log', 'aria-labelledby': 'sb-title', tabindex: '0' }, older, list, closedLine, typingLine);
    log.addEventListener('scroll', () => { pinned = log.scrollHeight - log.scrollTop - log.clientHeight < 40; });
    notice = h('p', { class: 'notice', role: 'alert', hidden: true });
    fileInput = h('input', { type: 'file', multiple: true, accept: ACCEPT, hidden: true,
      onchange: () => { sendFiles([...fileInput.files]); fileInput.value = ''; } });
    textarea = h('textarea', { rows: '1', placeholder: t("Write a message…"), 'aria-label': t("Message"), onkeydown: onKey, oninput: () => { grow(); typed(); } });
    form = h('form', { onsubmit: (e) => { e.preventDefault(); sendText(); } },
      button({ class: 'icon', 'aria-label': t("Attach a file"), onclick: () => fileInput.click() }, icon(ICON.clip)),
      fileInput, textarea,
      h('button', { type: 'submit', class: 'icon send', 'aria-label': t("Send") }, icon(ICON.send)));
    // The pre-chat form, when the inbox asks who the visitor is first.
    nameError = h('span', { class: 'error', id: 'sb-name-error', hidden: true });
    emailError = h('span', { class: 'error', id: 'sb-email-error', hidden: true });
    nameInput = h('input', { name: 'name', autocomplete: 'name', maxlength: '100' });
    emailInput = h('input', { name: 'email', type: 'email', autocomplete: 'email', maxlength: '254' });
    prechat = h('form', { class: 'prechat', novalidate: true, hidden: true, onsubmit: (e) => { e.preventDefault(); submitPrechat(); } },
      h('p', null, t("Before we start, tell us who you are.")),
      h('label', null, t("Name"), nameInput), nameError,
      h('label', null, t("Email"), emailInput), emailError,
      h('button', { type: 'submit', class: 'start' }, t("Start chat")));
    panel = h('section', { id: 'sb-panel', class: 'panel', role: 'dialog', 'aria-labelledby': 'sb-title', hidden: true,
      onkeydown: (e) => { if (e.key === 'Escape') close(); } },
      h('header', null, title, button({ class: 'icon', 'aria-label': t("Close chat"), onclick: () => close() }, icon(ICON.close))),
      log, notice, prechat, form);
    frame = h('div', { class: 'sb', lang: LANG }, panel, launcher);
    root.append(frame);
  }

  // ---- Messages

  // items holds the messages shown, by key: "m<id>" once stored, "c<client
  // id>" before; byClient finds a sent message when the server's copy comes.
  const items = new Map();
  const byClient = new Map();
  let cursor = ''; // next_cursor of the oldest page loaded
  let loaded = false; // the newest page is loaded
  let inboxName = 'Chat';
  let renderQueued = false;
  let pinned = true; // the reader is at the newest message
  let keepOffset = false; // the next render adds older messages above

  // upsert merges a message from the server (history, a send's answer, the
  // stream) into what is shown.
  function upsert(m) {
    let it = items.get('m' + m.id) || byClient.get(m.client_id);
    if (it) items.delete(it.key);
    else it = {};
    (it.previews || []).forEach((u) => URL.revokeObjectURL(u));
    Object.assign(it, {
      key: 'm' + m.id, id: m.id, clientId: m.client_id || '', from: m.from, agent: m.agent || '', avatar: m.agent_avatar || '', text: m.text || '', status: m.status,
      attachments: m.attachments || [], created: new Date(m.created_at), state: 'stored', error: '', files: null, previews: null,
      interactive: m.from === 'business' && m.interactive && typeof m.interactive === 'object' ? m.interactive : null, reply: null,
    });
    items.set(it.key, it);
    if (it.clientId) byClient.set(it.clientId, it);
    changed(it);
    if (it.from === 'business' && it.state === 'stored') typing(false);
  }

  function changed(it) {
    it.dirty = true;
    if (!renderQueued) {
      renderQueued = true;
      Promise.resolve().then(render);
    }
  }

  // order: stored messages by id, then those still being sent.
  const order = (a, b) => (a.id && b.id ? a.id - b.id : a.id ? -1 : b.id ? 1 : a.created - b.created);

  function render() {
    renderQueued = false;
    const fromBottom = log.scrollHeight - log.scrollTop;
    let prev = null;
    for (const it of [...items.values()].sort(order)) {
      if (it.dirty || !it.el) {
        const el = draw(it);
        if (it.el) it.el.replaceWith(el);
        it.el = el;
        it.dirty = false;
      }
      const next = prev ? prev.el.nextSibling : list.firstChild;
      if (next !== it.el) list.insertBefore(it.el, next);
      prev = it;
    }
    older.hidden = !cursor;
    // Follow new messages when at the bottom; keep the reader's place when
    // older ones come in above.
    if (pinned) toBottom();
    else if (keepOffset) log.scrollTop = log.scrollHeight - fromBottom;
    keepOffset = false;
    updateBadge();
  }

  function toBottom() {
    log.scrollTop = log.scrollHeight;
    pinned = true;
  }

  function draw(it) {
    const visitor = it.from === 'visitor';
    const bubble = h('div', { class: 'bubble' }, h('span', { class: 'sr' }, (visitor ? t("You:") : (it.agent || inboxName) + ':') + ' '));
    for (const a of it.attachments) bubble.append(attachment(a));
    const x = it.interactive;
    const head = x && x.header && x.header.type === 'text' ? String(x.header.text || '') : '';
    if (head) bubble.append(h('p', { class: 'head' }, head));
    const body = x ? String(x.body || it.text) : it.text;
    if (body) bubble.append(h('p', null, ...linkify(body)));
    if (x && x.footer) bubble.append(h('p', { class: 'foot' }, String(x.footer)));
    const meta = h('div', { class: 'meta' });
    if (it.state === 'sending') meta.append(t("Sending…"));
    else if (it.state === 'failed') {
      meta.append(t("Not sent: %s", it.error) + ' ');
      if (it.retryable) meta.append(button({ class: 'link', onclick: () => it.state === 'failed' && queue(it) }, t("Retry")));
      meta.append(button({ class: 'link', onclick: () => discard(it) }, t("Remove")));
    } else {
      if (!visitor && it.agent) meta.append(it.agent + ' · ');
      meta.append(h('time', { datetime: it.created.toISOString() }, when(it.created)));
    }
    const cls = 'msg ' + (visitor ? 'visitor' : 'business') + (it.state === 'failed' ? ' failed' : '');
    const actions = x && it.state === 'stored' ? choices(it, x) : null;
    // The agent's picture beside their reply (their name is in the meta
    // line, so the picture says nothing more to a screen reader).
    if (!visitor && it.avatar) {
      const pic = h('img', { class: 'avatar', src: it.avatar, alt: '', onerror: () => pic.remove() });
      return h('li', { class: cls + ' with-avatar' }, pic, h('div', null, bubble, actions, meta));
    }
    return h('li', { class: cls }, bubble, actions, meta);
  }

  // choices are what a business's interactive message offers: its reply
  // buttons, its list (behind the button that opens it) or its link
  // button. Titles are text; a link opens only http and https addresses.
  function choices(it, x) {
    const pick = (id, title) => add({ text: String(title), reply: { message_id: it.id, id: String(id) } });
    const list = (a) => (Array.isArray(a) ? a : []);
    switch (x.type) {
      case 'button':
        return h('div', { class: 'choices' },
          ...list(x.buttons).map((b) => button({ class: 'choice', onclick: () => pick(b.id, b.title) }, String(b.title || ''))));
      case 'list': {
        const id = 'sb-rows-' + it.id;
        const rows = h('div', { class: 'rows', id, role: 'group', 'aria-label': String(x.list_button || ''), hidden: true });
        for (const sec of list(x.sections)) {
          if (sec.title) rows.append(h('h3', null, String(sec.title)));
          for (const r of list(sec.rows)) {
            rows.append(button({ class: 'row', onclick: () => pick(r.id, r.title) }, String(r.title || ''),
              r.description ? h('small', null, String(r.description)) : null));
          }
        }
        const toggle = button({ class: 'choice', 'aria-expanded': 'false', 'aria-controls': id, onclick: () => {
          rows.hidden = !rows.hidden;
          toggle.setAttribute('aria-expanded', String(!rows.hidden));
          if (!rows.hidden && pinned) toBottom();
        } }, icon(ICON.list), String(x.list_button || ''));
        return h('div', { class: 'choices' }, toggle, rows);
      }
      case 'cta_url': {
        const url = String(x.url || '');
        if (!/^https?:\/\//i.test(url)) return null;
        return h('div', { class: 'choices' },
          h('a', { class: 'choice', href: url, target: '_blank', rel: 'noopener noreferrer nofollow' }, icon(ICON.open), String(x.display_text || url)));
      }
    }
    return null;
  }

  // attachment shows a file: by the link the server gave (a capability for
  // that file, valid for about an hour: never the session token), or a
  // preview of one being sent.
  function attachment(a) {
    const label = [icon(ICON.clip), a.filename + ' (' + size(a.size) + ')'];
    if (!a.url) return h('span', { class: 'file' }, ...label); // a document being sent
    const link = { href: a.url, target: '_blank', rel: 'noopener', onclick: (e) => openFile(e, a) };
    if (a.kind !== 'image') return h('a', { class: 'file', ...link }, ...label);
    // Images change the height of the log when they load; one whose link
    // expired meanwhile gets a new link, once.
    const img = h('img', { src: a.url, alt: a.filename, onload: () => pinned && toBottom(),
      onerror: () => { if (a.id && !a.renewed) { a.renewed = true; renew(a).then((u) => { img.src = u; img.parentNode.href = u; }, () => {}); } } });
    return h('a', link, img);
  }

  // renew asks for a new link to a file of the visitor's.
  async function renew(a) {
    const f = await api('GET', '/public/v1/attachments/' + a.id + '/link');
    a.url = f.url;
    a.url_expires_at = f.url_expires_at;
    return f.url;
  }

  // openFile opens a file whose link is about to expire with a new one.
  function openFile(e, a) {
    if (!a.id || !a.url_expires_at || Date.parse(a.url_expires_at) - Date.now() > 60000) return;
    e.preventDefault();
    const w = window.open('', '_blank');
    if (w) w.opener = null;
    renew(a).then((u) => { e.target.closest('a').href = u; if (w) w.location = u; else window.open(u, '_blank', 'noopener'); },
      (err) => { if (w) w.close(); show(err.message); });
  }

  // linkify turns web addresses into links; everything stays text.
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
    const time = d.toLocaleTimeString(LANG, { hour: '2-digit', minute: '2-digit' });
    return d.toDateString() === new Date().toDateString() ? time : d.toLocaleDateString(LANG, { month: 'short', day: 'numeric' }) + ', ' + time;
  }

  const size = (n) => (n < 1024 ? n + ' B' : n < 1 << 20 ? Math.round(n / 1024) + ' KB' : (n / (1 << 20)).toFixed(1) + ' MB');

  const replies = () => [...items.values()].filter((it) => it.from === 'business');
  const newestReply = () => Math.max(0, ...replies().map((it) => it.id));

  // ---- History

  // refresh loads the newest page and merges it.
  async function refresh() {
    const page = await api('GET', '/public/v1/messages?limit=' + PAGE);
    if (!loaded) {
      cursor = page.next_cursor || '';
      loaded = pinned = true;
    }
    page.items.forEach(upsert);
    setClosed(page.closed);
    acknowledge();
  }

  // setClosed shows or hides the line that says the agent closed the
  // conversation.
  function setClosed(closed) {
    if (closedLine.hidden === !closed) return;
    closedLine.hidden = !closed;
    if (pinned) toBottom();
  }

  // ---- Typing

  let typingTimer = 0;
  let typedAt = 0;

  // typing shows (or hides) that the business is writing a reply; a
  // signal shows for a few seconds unless another comes.
  function typing(on, agent) {
    clearTimeout(typingTimer);
    if (on) {
      typingText.textContent = agent ? t("%s is typing…", agent) : t("Typing…");
      typingTimer = setTimeout(() => typing(false), 6000);
    }
    if (typingLine.hidden === !on) return;
    typingLine.hidden = !on;
    if (pinned) toBottom();
  }

  // typed tells the agents the visitor is writing, at most every 3.5 s (a
  // little over the 3 s the server allows, so that a signal is not
  // dropped for arriving early), once there is a conversation to show it
  // in.
  function typed() {
    const now = Date.now();
    if (!saved.token || !textarea.value.trim() || now - typedAt < 3500) return;
    if (![...items.values()].some((it) => it.state === 'stored')) return;
    typedAt = now;
    api('POST', '/public/v1/typing').catch(() => { /* a lost signal does not matter */ });
  }

  async function loadOlder() {
    try {
      const page = await api('GET', '/public/v1/messages?limit=' + PAGE + '&cursor=' + encodeURIComponent(cursor));
      cursor = page.next_cursor || '';
      keepOffset = true;
      pinned = false;
      page.items.forEach(upsert);
      render();
    } catch (err) {
      show(err.message);
    }
  }

  // forget removes the stored messages (a new session, or a resync).
  function forget() {
    for (const it of items.values()) {
      if (it.state !== 'stored') continue;
      items.delete(it.key);
      byClient.delete(it.clientId);
      if (it.el) it.el.remove();
    }
    cursor = '';
    loaded = false;
    setClosed(false);
    render();
  }

  // ---- The session

  let starting = null;
  let askFirst = false; // the inbox's pre-chat form: name and email first

  // ensureSession resolves once there is a session: at once, or when the
  // server gave one (after the pre-chat form, if the inbox has one).
  function ensureSession() {
    if (saved.token) return Promise.resolve();
    starting = starting || startSession().finally(() => { starting = null; });
    return starting;
  }

  async function startSession() {
    const id = identity();
    const other = readStore(); // another tab may have started one meanwhile
    if (other.token && (other.identifier || '') === id.identifier) {
      saved = other;
      return connect();
    }
    if (askFirst && !(id.name && id.email)) return ask(id);
    const body = {};
    for (const k of Object.keys(id)) if (id[k]) body[k] = id[k];
    let s;
    try {
      s = await api('POST', sessionPath(), body, false);
    } catch (err) {
      // A name or email the server refuses must not keep the visitor out,
      // unless the inbox asks for them: then the visitor gives them.
      if (err.status !== 422 || !(body.name || body.email)) throw err;
      if (askFirst) return ask(id, err.fields);
      delete body.name;
      delete body.email;
      s = await api('POST', sessionPath(), body, false);
    }
    begin(s, id);
  }

  const sessionPath = () => '/public/v1/inboxes/' + encodeURIComponent(INBOX) + '/sessions';

  function begin(s, id) {
    save({ token: s.token, identifier: id.identifier, seq: null, read: 0 });
    loaded = true; // a new session has no history
    connect();
  }

  // ask shows the pre-chat form in place of the composer and resolves
  // once the server took what the visitor gave.
  let asked = null;
  function ask(id, fields) {
    nameInput.value = nameInput.value || id.name;
    emailInput.value = emailInput.value || id.email;
    prechat.hidden = false;
    form.hidden = true;
    if (fields) fieldErrors(fields);
    if (!panel.hidden) (nameInput.value ? emailInput : nameInput).focus();
    return new Promise((resolve) => { asked = { id, resolve }; });
  }

  // fieldErrors shows a message under each field that has one.
  function fieldErrors(fields) {
    for (const [input, error, key] of [[nameInput, nameError, 'name'], [emailInput, emailError, 'email']]) {
      const m = fields[key] || '';
      error.textContent = m;
      error.hidden = !m;
      if (m) {
        input.setAttribute('aria-invalid', 'true');
        input.setAttribute('aria-describedby', error.id);
      } else {
        input.removeAttribute('aria-invalid');
        input.removeAttribute('aria-describedby');
      }
    }
    const first = fields.name ? nameInput : fields.email ? emailInput : null;
    if (first) first.focus();
  }

  // checkPrechat is the form's own check, before the server's.
  function checkPrechat(name, email) {
    const fields = {};
    if (!name) fields.name = t("Enter your name.");
    else if ([...name].length > 100) fields.name = t("A name has at most 100 characters.");
    if (!email) fields.email = t("Enter your email address.");
    else if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) fields.email = t("Enter a valid email address, like name@example.com.");
    return fields;
  }

  let submitting = false;
  async function submitPrechat() {
    if (submitting || !asked) return;
    const name = nameInput.value.trim();
    const email = emailInput.value.trim();
    const fields = checkPrechat(name, email);
    fieldErrors(fields);
    if (Object.keys(fields).length) return;
    const body = { name, email };
    for (const k of ['identifier', 'identifier_hash']) if (asked.id[k]) body[k] = asked.id[k];
    submitting = true;
    try {
      const s = await api('POST', sessionPath(), body, false);
      const { id, resolve } = asked;
      asked = null;
      prechat.hidden = true;
      form.hidden = false;
      begin(s, id);
      resolve();
      textarea.focus();
    } catch (err) {
      if (err.status === 422 && (err.fields.name || err.fields.email)) fieldErrors(err.fields);
      else show(err.message);
    } finally {
      submitting = false;
    }
  }

  // dropSession forgets a token the server refused; the next send starts a
  // new session.
  function dropSession() {
    save({ token: null, seq: null, read: 0 });
    disconnect();
    forget();
  }

  // ---- Live updates

  let stream = null;
  let streamFailures = 0;
  let streamTimer = 0;
  let connecting = 0; // bumped to abandon a connection being made

  // connect opens the event stream with a ticket (EventSource cannot send
  // the token in a header, and the token never goes in a URL). The ticket
  // is good for a minute: the browser's own reconnect (with Last-Event-ID)
  // works within it; after that the stream is refused, and connectLater
  // gets a new ticket and resumes from the last event seen.
  async function connect() {
    disconnect();
    if (!saved.token) return;
    const attempt = connecting;
    let ticket;
    try {
      ticket = (await api('POST', '/public/v1/stream/tickets')).ticket;
    } catch (err) {
      if (attempt === connecting && err.status !== 401) connectLater();
      return;
    }
    if (attempt !== connecting || !saved.token) return;
    const q = new URLSearchParams({ ticket });
    if (saved.seq != null) q.set('since', saved.seq);
    const es = (stream = new EventSource(BASE + '/public/v1/stream?' + q));
    const position = (e) => {
      const seq = parseInt(e.lastEventId, 10);
      if (seq >= 0) save({ seq });
    };
    es.addEventListener('open', () => { streamFailures = 0; });
    // hello: a first connection, what came before is in the history.
    es.addEventListener('hello', (e) => { position(e); refresh().catch(() => {}); });
    // resync: too much was missed to replay; start from the history again.
    es.addEventListener('resync', (e) => { position(e); forget(); refresh().catch(() => {}); });
    es.addEventListener('message', (e) => {
      try {
        upsert(JSON.parse(e.data));
      } catch {
        return;
      }
      position(e);
      acknowledge();
    });
    // status: the agent closed the conversation (or it is open again).
    es.addEventListener('status', (e) => {
      try {
        setClosed(JSON.parse(e.data).closed);
      } catch {
        return;
      }
      position(e);
    });
    // typing: a signal, not in the log (no id): the agent is writing.
    es.addEventListener('typing', (e) => {
      try {
        typing(true, JSON.parse(e.data).agent);
      } catch { /* ignore */ }
    });
    // While CONNECTING the browser retries by itself, with Last-Event-ID;
    // CLOSED means the server refused the stream: check the session, retry.
    es.addEventListener('error', () => {
      if (es === stream && es.readyState === EventSource.CLOSED) connectLater();
    });
  }

  function connectLater() {
    disconnect();
    const delay = Math.min(30, 2 ** streamFailures++) * 1000;
    streamTimer = setTimeout(() => refresh().then(connect, (err) => { if (err.status !== 401) connectLater(); }), delay);
  }

  function disconnect() {
    connecting++;
    clearTimeout(streamTimer);
    if (stream) stream.close();
    stream = null;
  }

  // ---- Delivered and read

  let ackTimer = 0;
  let acked = { delivered: 0, read: 0 };

  const visible = () => !!panel && !panel.hidden && document.visibilityState === 'visible';

  // acknowledge tells the server, shortly, that the replies arrived and,
  // when the panel is open and visible, that they were read.
  function acknowledge() {
    if (visible() && newestReply() > (saved.read || 0)) save({ read: newestReply() });
    updateBadge();
    clearTimeout(ackTimer);
    ackTimer = setTimeout(async () => {
      const n = newestReply();
      const read = visible();
      if (!n || !saved.token || n <= (read ? acked.read : Math.max(acked.delivered, acked.read))) return;
      try {
        await api('POST', '/public/v1/seen', { up_to: n, read });
        acked = { delivered: Math.max(acked.delivered, n), read: read ? Math.max(acked.read, n) : acked.read };
      } catch { /* the next reply acknowledges again */ }
    }, 300);
  }

  // updateBadge counts the replies not read here nor (status) elsewhere.
  function updateBadge() {
    const unread = replies().filter((it) => it.id > (saved.read || 0) && it.status !== 'read').length;
    badge.hidden = !unread || !panel.hidden;
    badge.textContent = unread > 9 ? '9+' : unread;
    launcher.setAttribute('aria-label', !panel.hidden ? t("Close chat")
      : unread ? t("Open chat with %s (%s unread)", inboxName, unread) : t("Open chat with %s", inboxName));
  }

  document.addEventListener('visibilitychange', () => { if (visible()) acknowledge(); });

  // ---- Sending

  const outbox = [];
  let sending = false;

  // uuid: pages served over plain http have no crypto.randomUUID.
  const uuid = () => (crypto.randomUUID ? crypto.randomUUID()
    : [...crypto.getRandomValues(new Uint8Array(16))].map((v) => v.toString(16).padStart(2, '0')).join(''));

  function sendText() {
    const text = textarea.value.trim();
    if (!text) return;
    if ([...text].length > MAX_TEXT) return show(t("A message has at most %s characters.", MAX_TEXT));
    textarea.value = '';
    grow();
    add({ text });
  }

  // sendFiles sends files (checked here first; the server checks again) as
  // one message.
  function sendFiles(files) {
    const ok = files.filter((f) => {
      const max = f.type.startsWith('image/') ? MAX_IMAGE : MAX_FILE;
      if (f.size > max) show(f.type.startsWith('image/') ? t("“%s” is too large: images may be at most %s MB.", f.name, max >> 20) : t("“%s” is too large: files may be at most %s MB.", f.name, max >> 20));
      else if (!f.size) show(t("“%s” is empty.", f.name));
      return f.size && f.size <= max;
    });
    if (ok.length) add({ text: '', files: ok.slice(0, 10) });
  }

  // add shows a new message at once and queues it.
  function add({ text, files, id, created, reply }) {
    hide();
    const it = { clientId: id || uuid(), from: 'visitor', text, reply: reply || null, created: new Date(created || Date.now()), files, uploaded: [], previews: [], attachments: [] };
    for (const f of files || []) {
      const image = f.type.startsWith('image/');
      const url = image ? URL.createObjectURL(f) : '';
      if (url) it.previews.push(url);
      it.attachments.push({ kind: image ? 'image' : 'document', filename: f.name, size: f.size, url });
    }
    it.key = 'c' + it.clientId;
    items.set(it.key, it);
    byClient.set(it.clientId, it);
    pinned = true;
    queue(it);
  }

  function queue(it) {
    Object.assign(it, { state: 'sending', error: '' });
    changed(it);
    outbox.push(it);
    keepOutbox();
    pump();
  }

  // pump sends one message at a time, so that they arrive in order.
  async function pump() {
    if (sending) return;
    sending = true;
    try {
      while (outbox.length) await deliver(outbox.shift());
    } finally {
      sending = false;
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
        const body = it.reply ? { id: it.clientId, reply: it.reply } : { id: it.clientId, text: it.text };
        if (it.uploaded.length) body.attachments = it.uploaded;
        upsert(await api('POST', '/public/v1/messages', body));
        return setClosed(false); // a message after a close starts a new conversation
      } catch (err) {
        if (it.state !== 'sending') return;
        if (err.status === 401 && attempt < 2) {
          it.uploaded = []; // they belonged to the refused session
          continue;
        }
        const transient = err.status === 0 || err.status === 429 || err.status >= 500;
        if (!transient || attempt >= RETRIES.length) {
          Object.assign(it, { state: 'failed', error: err.message, retryable: transient });
          changed(it);
          return show(err.message);
        }
        await pause(Math.max(RETRIES[attempt], Math.min(err.retryAfter, 60)) * 1000);
      }
    }
  }

  // pause waits, or less if the browser comes back online.
  function pause(ms) {
    return new Promise((resolve) => {
      const done = () => { clearTimeout(t); removeEventListener('online', done); resolve(); };
      const t = setTimeout(done, ms);
      addEventListener('online', done);
    });
  }

  function discard(it) {
    it.state = 'removed';
    items.delete(it.key);
    byClient.delete(it.clientId);
    (it.previews || []).forEach((u) => URL.revokeObjectURL(u));
    it.el.remove();
    keepOutbox();
  }

  // keepOutbox saves the texts not sent yet, so that a reload sends them
  // (files cannot be kept).
  function keepOutbox() {
    const out = [...items.values()].filter((it) => !it.files && (it.state === 'sending' || (it.state === 'failed' && it.retryable)));
    save({ outbox: out.map((it) => ({ id: it.clientId, text: it.text, reply: it.reply || undefined, created: it.created.getTime() })) });
  }

  // ---- The panel

  function onKey(e) {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      sendText();
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
    if (pinned) toBottom(); // the notice made the log shorter
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(hide, 8000);
  }

  function hide() {
    notice.hidden = true;
  }

  function open() {
    panel.hidden = false;
    frame.classList.add('open');
    launcher.setAttribute('aria-expanded', 'true');
    openFlag(true);
    toBottom();
    (prechat.hidden ? textarea : nameInput).focus();
    acknowledge();
    ensureSession().then(() => !loaded && refresh()).catch((err) => show(err.message));
  }

  function close() {
    panel.hidden = true;
    frame.classList.remove('open');
    launcher.setAttribute('aria-expanded', 'false');
    openFlag(false);
    updateBadge();
    launcher.focus();
  }

  // theme sets the accent colour, with text that stays readable on it.
  function theme(color) {
    if (!/^#[0-9a-f]{6}$/i.test(color || '')) return;
    const [r, g, b] = [1, 3, 5].map((i) => parseInt(color.slice(i, i + 2), 16));
    const light = r * 0.299 + g * 0.587 + b * 0.114 > 170;
    setTheme(':host{--accent:' + color + ';--on-accent:' + (light ? '#111827' : '#fff') + '}');
  }

  // ---- Start

  async function start(tries = 0) {
    let cfg;
    try {
      cfg = await api('GET', '/public/v1/inboxes/' + encodeURIComponent(INBOX) + '?lang=' + encodeURIComponent(WANT_LANG), undefined, false);
    } catch (err) {
      if ((err.status === 0 || err.status >= 500) && tries < 5) setTimeout(() => start(tries + 1), 5000 * (tries + 1));
      else console.warn('Switchboard chat:', err.message);
      return;
    }
    const id = identity();
    if (cfg.require_identity && !id.identifier) {
      return console.warn('Switchboard chat: this inbox only takes verified visitors; set window.SwitchboardSettings = {identifier, identifier_hash}.');
    }
    // A token of someone else (the site's user changed) is not reused.
    if (saved.token && (saved.identifier || '') !== id.identifier) save({ token: null, seq: null, read: 0, outbox: [] });
    LANG = cfg.language || 'en';
    words = cfg.words || {};
    askFirst = !!cfg.pre_chat_form;
    build();
    inboxName = cfg.name || t("Chat");
    title.textContent = inboxName;
    theme(cfg.color);
    if (cfg.greeting) list.before(h('ol', { class: 'greeting' }, h('li', { class: 'msg business' }, h('div', { class: 'bubble' }, cfg.greeting))));
    updateBadge();
    document.body.append(host);
    (saved.outbox || []).forEach(add);
    if (saved.token) {
      connect();
      refresh().catch(() => {});
    }
    if (openFlag()) open();
  }

  if (document.body) start();
  else document.addEventListener('DOMContentLoaded', () => start());
})();
