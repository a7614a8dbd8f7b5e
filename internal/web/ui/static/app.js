// Switchboard's agent workspace: the live connection (WebSocket events
// that refresh the list and the open conversation), the composer, and a
// few conveniences. Every piece of markup comes from the server's
// templates; this file only fetches fragments and puts them in place.
(function () {
  "use strict";

  const body = document.body;

  // Words come translated from the page (#sb-strings, keyed by English).
  let strings = {};
  try { strings = JSON.parse(document.getElementById("sb-strings").textContent); } catch (e) { /* English */ }
  function t(s) { return strings[s] || s; }

  // ---- Notices ---------------------------------------------------------

  let flashTimer = 0;
  function flash(message) {
    const el = document.getElementById("flash");
    if (!el) return;
    el.textContent = message;
    el.hidden = false;
    clearTimeout(flashTimer);
    flashTimer = setTimeout(function () { el.hidden = true; }, 8000);
  }

  function toLogin() {
    location.assign("/login?next=" + encodeURIComponent(location.pathname + location.search));
  }

  // fetchHTML gets a server-rendered fragment. It resolves to the HTML, to
  // "" for 204 (nothing to show), or to null when the answer is an error
  // (already shown).
  async function fetchHTML(url) {
    let res;
    try {
      res = await fetch(url, { headers: { "HX-Request": "true" }, credentials: "same-origin" });
    } catch (e) {
      return null; // offline: the reconnect catches up
    }
    if (res.status === 401) { toLogin(); return null; }
    if (res.status === 204) return "";
    const text = await res.text();
    if (!res.ok) {
      if (res.status !== 404) flash(text || t("The page could not be updated.") + " (" + res.status + ")");
      return res.status === 404 ? "" : null;
    }
    return text;
  }

  // fragment parses server-rendered HTML into its first element.
  function fragment(html) {
    const t = document.createElement("template");
    t.innerHTML = html.trim();
    return t.content.firstElementChild;
  }

  function processed(el) {
    if (window.htmx) window.htmx.process(el);
    enhance(el);
    return el;
  }

  // ---- Small enhancements of server-rendered markup ----------------------

  // localTime shows a server time (UTC) in the agent's time zone: the
  // time alone today, with the date otherwise.
  function localTime(el) {
    const d = new Date(el.getAttribute("datetime"));
    if (isNaN(d)) return;
    const sameDay = d.toDateString() === new Date().toDateString();
    let opts = sameDay ? { hour: "2-digit", minute: "2-digit" } : { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" };
    if (el.dataset.local === "date") opts = { day: "numeric", month: "short", year: d.getFullYear() === new Date().getFullYear() ? undefined : "numeric" };
    const lang = document.documentElement.lang || [];
    el.textContent = d.toLocaleString(lang, opts);
    el.title = d.toLocaleString(lang);
  }

  function enhance(root) {
    if (!root || !root.querySelectorAll) return;
    const times = root.matches && root.matches("time[data-local]") ? [root] : [];
    times.concat(Array.from(root.querySelectorAll("time[data-local]"))).forEach(localTime);
    root.querySelectorAll("[data-autosubmit]").forEach(function (el) {
      if (el.dataset.ready) return;
      el.dataset.ready = "1";
      el.addEventListener("change", function () { el.form.requestSubmit(); });
    });
    const composer = root.id === "composer" ? root : root.querySelector("#composer");
    if (composer) setupComposer(composer);
    root.querySelectorAll("template[data-upsert=message]").forEach(function (t) {
      const el = t.content.firstElementChild;
      t.remove();
      if (el) upsertMessage(document.importNode(el, true), true);
    });
    root.querySelectorAll("[data-copy]").forEach(setupCopy);
    root.querySelectorAll(".side-toggle").forEach(syncSideToggle);
  }

  // At phone width a conversation shows either its messages or its side
  // panel (contact and tags). The choice is kept on #conv, so a header
  // rendered again (after an assignment, or live) shows it as it is.
  function sideOpen() {
    const conv = document.getElementById("conv");
    return conv !== null && conv.dataset.side === "open";
  }

  function syncSideToggle(btn) { btn.setAttribute("aria-expanded", String(sideOpen())); }

  document.addEventListener("click", function (e) {
    const btn = e.target.closest && e.target.closest(".side-toggle");
    const conv = document.getElementById("conv");
    if (!btn || !conv) return;
    if (sideOpen()) delete conv.dataset.side; else conv.dataset.side = "open";
    document.querySelectorAll(".side-toggle").forEach(syncSideToggle);
  });

  function setupCopy(btn) {
    if (btn.dataset.ready) return;
    btn.dataset.ready = "1";
    btn.addEventListener("click", function () {
      const src = document.getElementById(btn.dataset.copy);
      if (!src) return;
      const done = function () { btn.textContent = t("Copied"); };
      // The clipboard API exists only on https (and localhost); elsewhere
      // select the text and copy the old way.
      const fallback = function () {
        const range = document.createRange();
        range.selectNodeContents(src);
        const sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
        if (document.execCommand && document.execCommand("copy")) done();
        else btn.textContent = t("Selected: press Ctrl+C");
      };
      if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(src.textContent).then(done, fallback);
      else fallback();
    });
  }

  // ---- The composer ------------------------------------------------------

  // capitalizeFirst makes the first letter of a reply a capital as it is
  // typed, when the agent's settings say so.
  function capitalizeFirst(el) {
    if (body.dataset.capitalize !== "true") return;
    const m = el.value.match(/^\s*/);
    const i = m ? m[0].length : 0;
    const c = el.value.charAt(i);
    if (el.selectionStart !== i + 1 || c === c.toUpperCase()) return;
    const pos = el.selectionStart;
    el.value = el.value.slice(0, i) + c.toUpperCase() + el.value.slice(i + 1);
    el.setSelectionRange(pos, pos);
  }

  function setupComposer(form) {
    if (form.dataset.ready) return;
    form.dataset.ready = "1";
    const text = form.querySelector("textarea[name=text]");
    const counter = form.querySelector(".counter");
    const send = form.querySelector("button[type=submit]");
    const files = form.querySelector("input[data-upload]");
    const uploads = form.querySelector(".uploads");
    const max = Number(text.dataset.max) || 4096;
    let uploading = 0;

    function length() { return Array.from(text.value).length; }
    function hasContent() { return text.value.trim() !== "" || uploads.querySelector("input[name=attachments]"); }
    function update() {
      const n = length();
      counter.textContent = n + " / " + max;
      counter.classList.toggle("over", n > max);
      form.classList.toggle("too-long", n > max);
      send.disabled = n > max || uploading > 0;
    }

    text.addEventListener("input", function () { capitalizeFirst(text); update(); });
    text.addEventListener("keydown", function (e) {
      if (e.key !== "Enter" || e.shiftKey || e.isComposing || e.altKey || e.ctrlKey || e.metaKey) return;
      e.preventDefault();
      if (!send.disabled && hasContent()) form.requestSubmit();
    });
    form.addEventListener("submit", function (e) {
      if (send.disabled || !hasContent()) { e.preventDefault(); e.stopImmediatePropagation(); }
    }, true);

    uploads.addEventListener("click", function (e) {
      const btn = e.target.closest(".remove-upload");
      if (btn) btn.closest("li").remove();
    });

    files.addEventListener("change", function () {
      Array.from(files.files).forEach(upload);
      files.value = "";
    });

    async function upload(file) {
      const item = document.createElement("li");
      item.className = "upload busy";
      const name = document.createElement("span");
      name.className = "file-name";
      name.textContent = file.name;
      const state = document.createElement("span");
      state.className = "muted";
      state.textContent = " " + t("uploading…");
      item.append(name, state);
      uploads.append(item);
      uploading++;
      update();
      try {
        const fd = new FormData();
        fd.append("file", file, file.name);
        const res = await fetch("/api/v1/attachments", { method: "POST", body: fd, credentials: "same-origin" });
        if (res.status === 401) { toLogin(); return; }
        const data = await res.json().catch(function () { return {}; });
        if (!res.ok) {
          item.remove();
          const err = data.error || {};
          flash(file.name + ": " + ((err.fields && err.fields.file) || err.message || t("the upload failed.")));
          return;
        }
        item.classList.remove("busy");
        item.dataset.id = data.id;
        const input = document.createElement("input");
        input.type = "hidden";
        input.name = "attachments";
        input.value = String(data.id);
        const remove = document.createElement("button");
        remove.type = "button";
        remove.className = "link remove-upload";
        remove.setAttribute("aria-label", t("Remove %s").replace("%s", file.name));
        remove.textContent = "×";
        state.replaceWith(document.createTextNode(" "));
        item.prepend(input);
        item.append(remove);
      } catch (e) {
        item.remove();
        flash(file.name + ": " + t("the upload failed; check the connection and try again."));
      } finally {
        uploading--;
        update();
      }
    }

    update();
    text.focus();
  }

  // ---- The open conversation --------------------------------------------

  function openConversation() {
    const el = document.getElementById("conv");
    return el ? Number(el.dataset.conversation) : 0;
  }

  function messagesBox() { return document.getElementById("messages"); }

  function nearBottom(box) { return box.scrollHeight - box.scrollTop - box.clientHeight < 80; }

  function scrollToBottom() {
    const box = messagesBox();
    if (box) box.scrollTop = box.scrollHeight;
  }

  // upsertMessage puts a rendered message in place: it replaces the one
  // with the same id or goes in id order (usually last).
  function upsertMessage(el, mine) {
    const box = messagesBox();
    if (!box || !el || Number(box.dataset.conversation) !== openConversation()) return;
    const stick = mine || nearBottom(box);
    processed(el);
    const id = Number(el.dataset.id);
    const existing = document.getElementById(el.id);
    if (existing) {
      existing.replaceWith(el);
    } else {
      const later = Array.from(box.querySelectorAll("article.msg")).find(function (m) { return Number(m.dataset.id) > id; });
      if (later) box.insertBefore(el, later); else box.append(el);
    }
    if (stick) scrollToBottom();
  }

  const messageVersion = new Map();
  async function loadMessage(convID, id) {
    const v = (messageVersion.get(id) || 0) + 1;
    messageVersion.set(id, v);
    const html = await fetchHTML("/inbox/conversations/" + convID + "/messages/" + id);
    if (!html || messageVersion.get(id) !== v) return;
    upsertMessage(fragment(html), false);
  }

  async function reloadMessages() {
    const id = openConversation();
    const box = messagesBox();
    if (!id || !box) return;
    const html = await fetchHTML("/inbox/conversations/" + id + "/messages");
    if (html === null) return;
    const t = document.createElement("template");
    t.innerHTML = html;
    box.replaceChildren(t.content);
    processed(box);
    scrollToBottom();
  }

  // The open conversation's part of the timeline: its messages and
  // activities (earlier conversations shown above it are not).
  function ownItems(box, id) {
    return Array.from(box.querySelectorAll('[data-conversation="' + id + '"]')).filter(function (el) {
      return el.matches("article.msg, p.activity");
    });
  }

  // placeActivity puts an activity line after the message it followed
  // and the activities before it.
  function placeActivity(box, el) {
    const after = Number(el.dataset.after);
    const id = Number(el.dataset.activity);
    const existing = document.getElementById(el.id);
    if (existing) { existing.replaceWith(el); return; }
    const next = ownItems(box, openConversation()).find(function (x) {
      if (x.matches("article.msg")) return Number(x.dataset.id) > after;
      const a = Number(x.dataset.after);
      return a > after || (a === after && Number(x.dataset.activity) > id);
    });
    if (next) box.insertBefore(el, next); else box.append(el);
  }

  // loadActivities fetches the activities the open conversation's
  // timeline lacks (after the last one shown, from its first message
  // shown on).
  let activityVersion = 0;
  async function loadActivities() {
    const id = openConversation();
    const box = messagesBox();
    if (!id || !box) return;
    const v = ++activityVersion;
    let after = 0;
    let from = 0;
    ownItems(box, id).forEach(function (el) {
      if (el.matches("p.activity")) after = Math.max(after, Number(el.dataset.activity));
      else if (!from) from = Number(el.dataset.id);
    });
    const html = await fetchHTML("/inbox/conversations/" + id + "/activities?after=" + after + "&from=" + from);
    if (!html || v !== activityVersion || id !== openConversation()) return;
    const stick = nearBottom(box);
    const t = document.createElement("template");
    t.innerHTML = html;
    Array.from(t.content.children).forEach(function (el) { placeActivity(box, processed(el)); });
    if (stick) scrollToBottom();
  }

  // A quote of the message replied to scrolls to it when it is in the
  // timeline.
  document.addEventListener("click", function (e) {
    const q = e.target.closest && e.target.closest("a.quote[data-quote]");
    if (!q) return;
    e.preventDefault();
    const target = document.getElementById("msg-" + q.dataset.quote);
    if (!target) {
      flash(t("The message replied to is further up: load older messages to see it."));
      return;
    }
    target.scrollIntoView({ block: "center", behavior: "smooth" });
    target.classList.remove("highlight");
    void target.offsetWidth; // restart the animation
    target.classList.add("highlight");
  });

  let headVersion = 0;
  async function refreshHead() {
    const id = openConversation();
    if (!id) return;
    const v = ++headVersion;
    const panel = document.getElementById("contact-panel");
    const keep = panel && panel.hasAttribute("data-editing") ? "?contact=keep" : "";
    const html = await fetchHTML("/inbox/conversations/" + id + "/head" + keep);
    if (html === null || v !== headVersion) return;
    if (html === "") {
      flash(t("This conversation is no longer visible to you."));
      return;
    }
    // The answer is the header plus out-of-band parts (tags, contact).
    // Parts that did not change stay as they are (a click or a selection
    // in them is not lost); what is being typed moves to the new part.
    const t = document.createElement("template");
    t.innerHTML = html;
    Array.from(t.content.children).forEach(function (el) {
      const cur = el.id && document.getElementById(el.id);
      if (!cur) return;
      el.removeAttribute("hx-swap-oob");
      if (cur.isEqualNode(el)) return;
      const focused = cur.contains(document.activeElement) ? document.activeElement.id : "";
      cur.querySelectorAll("input[id], textarea[id]").forEach(function (old) {
        const now = el.querySelector("#" + CSS.escape(old.id));
        if (now && old.type !== "hidden" && old.value !== old.defaultValue) now.value = old.value;
      });
      cur.replaceWith(el);
      processed(el);
      if (focused) {
        const f = document.getElementById(focused);
        if (f) f.focus();
      }
    });
  }

  // markRead records that the agent has seen the open conversation (when
  // the page is in view). Calls during one in flight run once after it.
  let reading = false;
  let readAgain = false;
  async function markRead() {
    const id = openConversation();
    if (!id || document.visibilityState !== "visible") return;
    if (reading) { readAgain = true; return; }
    reading = true;
    try {
      const res = await fetch("/api/v1/conversations/" + id + "/read", { method: "POST", credentials: "same-origin" });
      if (res.ok) refreshRow(id);
    } catch (e) {
      // Marked on the next message or visit.
    } finally {
      reading = false;
      if (readAgain) { readAgain = false; markRead(); }
    }
  }

  // ---- The conversation list ---------------------------------------------

  function rowsList() { return document.getElementById("rows"); }

  function listQuery(list) {
    return list.dataset.query + "&current=" + (openConversation() || 0);
  }

  function sortKey(el) { return [Number(el.dataset.sort), Number(el.dataset.id)]; }
  function before(a, b) { return a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]); }

  function updateEmpty() {
    const list = rowsList();
    const empty = document.getElementById("rows-empty");
    if (list && empty) empty.hidden = list.querySelector("li.row") !== null;
  }

  // placeRow puts a rendered row where the list's order (newest activity
  // first) wants it. A new row older than everything loaded, while more
  // pages remain, is left for "Load more"; a row that was loaded stays.
  function placeRow(list, el, loaded) {
    const key = sortKey(el);
    const rows = Array.from(list.querySelectorAll("li.row"));
    const next = rows.find(function (r) { return r !== el && before(key, sortKey(r)); });
    const more = list.querySelector("li.more");
    if (next) list.insertBefore(el, next);
    else if (!more) list.append(el);
    else if (loaded) list.insertBefore(el, more);
    else el.remove();
  }

  function isLastOf(convID, msgID) {
    const row = document.getElementById("row-" + convID);
    return row !== null && Number(row.dataset.last) === msgID;
  }

  const rowVersion = new Map();
  const rowTimers = new Map();
  // refreshRow asks the server how the current view shows one
  // conversation now; updates that come together are fetched once.
  function refreshRow(id) {
    if (!rowsList()) return;
    clearTimeout(rowTimers.get(id));
    rowTimers.set(id, setTimeout(function () { rowTimers.delete(id); fetchRow(id); }, 40));
  }

  async function fetchRow(id) {
    const list = rowsList();
    if (!list) return;
    const v = (rowVersion.get(id) || 0) + 1;
    rowVersion.set(id, v);
    const html = await fetchHTML("/inbox/rows/" + id + "?" + listQuery(list));
    if (html === null || rowVersion.get(id) !== v) return;
    const existing = document.getElementById("row-" + id);
    if (html === "") {
      if (existing) existing.remove();
    } else {
      const el = processed(fragment(html));
      if (existing && existing.isEqualNode(el)) return; // unchanged
      if (existing) existing.replaceWith(el);
      placeRow(list, el, !!existing);
    }
    updateEmpty();
  }

  async function reloadList() {
    const list = rowsList();
    if (!list) return;
    const html = await fetchHTML("/inbox/list?" + listQuery(list));
    if (html === null) return;
    const t = document.createElement("template");
    t.innerHTML = html;
    list.replaceChildren(t.content);
    processed(list);
    updateEmpty();
  }

  // ---- The queue banner ------------------------------------------------------

  let queueTimer = 0;
  let queueVersion = 0;
  // refreshQueue reads the banner again (once for updates that come
  // together), keeping it open when it was.
  function refreshQueue() {
    if (!document.getElementById("queue-banner")) return;
    clearTimeout(queueTimer);
    queueTimer = setTimeout(async function () {
      const v = ++queueVersion;
      const cur = document.getElementById("queue-banner");
      const open = cur && cur.querySelector("details[open]") ? "1" : "0";
      const html = await fetchHTML("/inbox/queue?open=" + open);
      const now = document.getElementById("queue-banner");
      if (html === null || v !== queueVersion || !now) return;
      // A claim on its way keeps the banner: its answer goes there (or
      // opens the conversation); read it again after.
      if (now.querySelector(".htmx-request")) { refreshQueue(); return; }
      now.replaceWith(processed(fragment(html)));
    }, 60);
  }

  // ---- The live connection -----------------------------------------------

  let seq = Number(body.dataset.seq || 0);
  let socket = null;
  let retry = 0;
  let retryTimer = 0;
  let failures = 0;

  function setOnline(online) {
    const el = document.getElementById("live-status");
    if (el) el.hidden = online;
  }

  function connect() {
    clearTimeout(retryTimer);
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(proto + "//" + location.host + "/api/v1/ws?since=" + seq);
    socket = ws;
    ws.onmessage = function (e) {
      let f;
      try { f = JSON.parse(e.data); } catch (err) { return; }
      handle(f);
    };
    ws.onclose = function () {
      if (socket !== ws) return;
      socket = null;
      setOnline(false);
      body.dataset.connected = "false";
      failures++;
      // Exponential backoff with jitter, at most 30 s.
      const delay = Math.min(30000, 500 * Math.pow(2, retry++)) * (0.75 + Math.random() / 2);
      retryTimer = setTimeout(reconnect, delay);
    };
  }

  // reconnect checks the session after a few failures: an expired one
  // means signing in again, not retrying forever.
  async function reconnect() {
    if (failures >= 3) {
      try {
        const res = await fetch("/api/v1/me", { credentials: "same-origin" });
        if (res.status === 401) { toLogin(); return; }
      } catch (e) {
        // Offline: keep trying.
      }
    }
    connect();
  }

  function handle(f) {
    switch (f.type) {
      case "hello":
        seq = f.seq;
        retry = 0;
        failures = 0;
        setOnline(true);
        body.dataset.connected = "true";
        return;
      case "resync":
        // Too much was missed to replay: read the page's data again.
        seq = f.seq;
        retry = 0;
        failures = 0;
        setOnline(true);
        body.dataset.connected = "true";
        reloadList();
        refreshHead();
        reloadMessages();
        refreshQueue();
        return;
    }
    if (typeof f.seq === "number") {
      if (f.seq <= seq) return; // seen already
      seq = f.seq;
    }
    // people.js follows status, profile and preference changes and
    // plays notifications.
    document.dispatchEvent(new CustomEvent("sb:event", { detail: f }));
    const d = f.data || {};
    switch (f.type) {
      case "conversation.created":
      case "conversation.updated":
        refreshRow(d.id);
        refreshQueue();
        if (d.id === openConversation()) { refreshHead(); loadActivities(); }
        break;
      case "message.created":
      case "message.updated":
        if (d.conversation_id === openConversation()) {
          loadMessage(d.conversation_id, d.id);
          if (f.type === "message.created" && d.direction === "inbound") markRead();
        }
        // A row shows its last message: a change to another one (a
        // delivery status) does not concern it.
        if (f.type === "message.created" || isLastOf(d.conversation_id, d.id)) refreshRow(d.conversation_id);
        break;
      case "membership.changed":
        reloadList();
        refreshHead();
        refreshQueue();
        break;
    }
  }

  // ---- Start ----------------------------------------------------------------

  function start() {
    enhance(body);
    // A refused form: put the cursor where the first problem is.
    const invalid = document.querySelector("main [aria-invalid=true]");
    if (invalid) invalid.focus();
    scrollToBottom();
    if (body.hasAttribute("data-live") && "WebSocket" in window) {
      connect();
      document.addEventListener("visibilitychange", function () {
        if (document.visibilityState !== "visible") return;
        const row = document.getElementById("row-" + openConversation());
        if (row && row.classList.contains("unread")) markRead();
        if (!socket) { retry = 0; reconnect(); }
      });
    }
  }

  // htmx: new content gets the same enhancements; errors are shown.
  document.addEventListener("htmx:load", function (e) {
    if (e.detail.elt !== body) enhance(e.detail.elt);
  });
  document.addEventListener("htmx:beforeSwap", function (e) {
    const t = e.detail.target;
    if (t && t.classList && t.classList.contains("older")) {
      const box = messagesBox();
      if (box) box.dataset.fromBottom = String(box.scrollHeight - box.scrollTop);
    }
  });
  document.addEventListener("htmx:afterSwap", function (e) {
    const box = messagesBox();
    if (box && box.dataset.fromBottom && box.contains(e.detail.elt)) {
      box.scrollTop = box.scrollHeight - Number(box.dataset.fromBottom);
      delete box.dataset.fromBottom;
    }
  });
  document.addEventListener("htmx:afterRequest", function (e) {
    const xhr = e.detail.xhr;
    if (!xhr || xhr.status < 400 || xhr.status === 422 || xhr.status === 409) return;
    if (xhr.status === 401) return; // htmx follows HX-Redirect to the login page
    const type = xhr.getResponseHeader("Content-Type") || "";
    flash(type.indexOf("text/plain") === 0 && xhr.responseText ? xhr.responseText : t("The request failed. Try again.") + " (" + xhr.status + ")");
  });
  document.addEventListener("htmx:sendError", function () {
    flash(t("Switchboard cannot be reached. Check the connection and try again."));
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
