// The WhatsApp simulator's page: who you are, the chat as a phone shows
// it, and what you tap. Everything it learns comes from the Graph API
// fake (/simulator/api/…), never from Switchboard. Text from anyone is
// set with textContent: nothing here is parsed as HTML.
(() => {
  "use strict";
  const S = JSON.parse(document.getElementById("sim-strings").textContent || "{}");
  const t = (k, ...args) => {
    let s = S[k] || k;
    for (const a of args) s = s.replace(/%[sd]/, a);
    return s;
  };
  const $ = (id) => document.getElementById(id);
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  };
  const STORE = "switchboard-simulator";

  const form = $("who");
  if (!form) return;
  const phone = $("phone");
  const chatEl = $("chat");
  const state = { number: "", customer: null, me: null, messages: [], numbers: [], typing: false, es: null, reading: false };

  // ---- Who you are -------------------------------------------------

  // The customer is known by a phone number or, with the number hidden,
  // by a username: the field not in use is disabled (the phone's is
  // hidden as well), and only the one in use is sent.
  function syncIdentityFields() {
    const hide = form.elements.hide_phone.checked;
    form.querySelector("[data-when=phone]").hidden = hide;
    form.elements.phone.disabled = hide;
    form.elements.username.disabled = !hide;
  }
  form.elements.hide_phone.addEventListener("change", syncIdentityFields);

  function saved() {
    try { return JSON.parse(localStorage.getItem(STORE) || "null"); } catch { return null; }
  }
  const prev = saved();
  if (prev) {
    if (prev.number && form.elements.number.querySelector(`option[value="${CSS.escape(prev.number)}"]`)) form.elements.number.value = prev.number;
    form.elements.name.value = prev.customer.name || "";
    form.elements.phone.value = prev.customer.phone || "";
    form.elements.username.value = prev.customer.username || "";
    form.elements.hide_phone.checked = !!prev.customer.hide_phone;
  }
  syncIdentityFields();

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const customer = {
      name: form.elements.name.value.trim(),
      phone: form.elements.phone.disabled ? "" : form.elements.phone.value.trim(),
      hide_phone: form.elements.hide_phone.checked,
      username: form.elements.username.disabled ? "" : form.elements.username.value.trim(),
    };
    const number = form.elements.number.value;
    try {
      const out = await api("POST", "/simulator/api/open", { number, customer });
      showError($("who-error"), "");
      localStorage.setItem(STORE, JSON.stringify({ number, customer }));
      state.number = number;
      state.customer = customer;
      openChat(out.chat);
    } catch (e) {
      showError($("who-error"), e.message);
    }
  });

  $("back").addEventListener("click", () => {
    closeStream();
    phone.hidden = true;
    document.body.classList.remove("chatting");
    form.elements.name.focus();
  });

  // ---- Talking to the fake ------------------------------------------

  async function api(method, url, body) {
    const opts = { method, headers: {} };
    if (body instanceof FormData) {
      opts.body = body;
    } else if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    const r = await fetch(url, opts);
    if (r.status === 204) return null;
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(data.error || r.statusText);
    return data;
  }

  function showError(node, msg) {
    node.textContent = msg;
    node.hidden = !msg;
  }

  async function sendMessage(message) {
    try {
      await api("POST", "/simulator/api/send", { number: state.number, customer: state.customer, message });
      showError($("chat-error"), "");
    } catch (e) {
      showError($("chat-error"), t("Something went wrong: %s", e.message));
    }
  }

  function query() {
    return "number=" + encodeURIComponent(state.number) + "&customer=" + encodeURIComponent(JSON.stringify(state.customer));
  }

  async function reload() {
    try {
      const chat = await api("GET", "/simulator/api/chat?" + query());
      state.messages = chat.messages;
      state.typing = chat.typing;
      state.me = chat.customer;
      render();
    } catch (e) {
      showError($("chat-error"), t("Something went wrong: %s", e.message));
    }
  }

  async function reloadNumbers() {
    try {
      const out = await api("GET", "/simulator/api/numbers");
      state.numbers = out.numbers || [];
      const n = currentNumber();
      if (n.name) {
        $("biz-name").textContent = n.name;
        $("biz-name").title = n.display;
      }
      render();
    } catch { /* the stream retries */ }
  }

  function openChat(chat) {
    nodes = new Map();
    chatEl.replaceChildren();
    state.messages = chat.messages;
    state.typing = chat.typing;
    state.me = chat.customer;
    phone.hidden = false;
    document.body.classList.add("chatting");
    const num = form.elements.number.selectedOptions[0];
    $("biz-name").textContent = num ? num.textContent : "";
    $("me").textContent = state.me.phone ? "+" + state.me.phone : state.me.username || "";
    reloadNumbers();
    openStream();
    render();
    $("text").focus();
  }

  function closeStream() {
    if (state.es) state.es.close();
    state.es = null;
  }

  function openStream() {
    closeStream();
    const es = new EventSource("/simulator/api/events?" + query());
    state.es = es;
    es.addEventListener("open", reload);
    const upsert = (ev) => {
      const e = JSON.parse(ev.data);
      if (!e.message) return;
      const i = state.messages.findIndex((m) => m.id === e.message.id);
      if (i >= 0) state.messages[i] = e.message;
      else state.messages.push(e.message);
      render();
    };
    es.addEventListener("message", upsert);
    es.addEventListener("status", upsert);
    es.addEventListener("typing", (ev) => {
      state.typing = !!JSON.parse(ev.data).typing;
      render();
    });
    es.addEventListener("automation", reloadNumbers);
  }

  // The customer reads what arrived while the page is visible.
  async function markRead() {
    if (state.reading || document.visibilityState !== "visible" || phone.hidden) return;
    const unread = state.messages.some((m) => m.from_business && m.type !== "reaction" && (m.status === "sent" || m.status === "delivered"));
    if (!unread) return;
    state.reading = true;
    try {
      await api("POST", "/simulator/api/read", { number: state.number, customer: state.customer });
    } catch { /* next render tries again */ }
    state.reading = false;
  }
  document.addEventListener("visibilitychange", markRead);

  // ---- Composer -----------------------------------------------------

  $("composer").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = $("text").value.trim();
    if (!text) return;
    $("text").value = "";
    $("commands").hidden = true;
    sendMessage({ type: "text", text });
  });

  $("text").addEventListener("input", renderCommands);

  $("file").addEventListener("change", async () => {
    const file = $("file").files[0];
    if (!file) return;
    const fd = new FormData();
    fd.append("number", state.number);
    fd.append("customer", JSON.stringify(state.customer));
    fd.append("file", file);
    fd.append("caption", $("text").value.trim());
    $("text").value = "";
    $("file").value = "";
    try {
      await api("POST", "/simulator/api/media", fd);
      showError($("chat-error"), "");
    } catch (e) {
      showError($("chat-error"), t("Something went wrong: %s", e.message));
    }
  });

  $("share-location").addEventListener("click", () => {
    sendMessage({ type: "location", latitude: 37.44221496582, longitude: -122.16165924072, name: "Philz Coffee", address: "101 Forest Ave, Palo Alto, CA 94301" });
  });

  function currentNumber() {
    return state.numbers.find((n) => n.id === state.number) || { automation: {} };
  }

  function renderCommands() {
    const box = $("commands");
    const v = $("text").value;
    const cmds = currentNumber().automation.commands || [];
    box.replaceChildren();
    if (!v.startsWith("/") || v.includes(" ") || !cmds.length) {
      box.hidden = true;
      return;
    }
    for (const c of cmds) {
      if (!("/" + c.command_name).startsWith(v)) continue;
      const li = el("li");
      const b = el("button", "", "/" + c.command_name);
      b.type = "button";
      b.append(el("small", "", c.command_description));
      b.addEventListener("click", () => {
        $("text").value = "/" + c.command_name + " ";
        box.hidden = true;
        $("text").focus();
      });
      li.append(b);
      box.append(li);
    }
    box.hidden = !box.children.length;
  }

  // ---- The chat -----------------------------------------------------

  let nodes = new Map(); // message id → {sig, node}
  const typingNode = el("li", "typing", t("typing…"));
  const ctxOf = (m) => m.from_business ? m.body && m.body.context && m.body.context.message_id : m.body && m.body.context && m.body.context.id;
  const visibleTypes = (m) => m.type !== "request_welcome" && m.type !== "reaction" && !(m.from_business && m.status === "accepted");

  function render() {
    if (phone.hidden) return;
    const atBottom = chatEl.scrollHeight - chatEl.scrollTop - chatEl.clientHeight < 40;
    const byID = new Map(state.messages.map((m) => [m.id, m]));
    const reactions = new Map(); // message id → {mine, theirs}
    for (const m of state.messages) {
      if (m.type !== "reaction" || (m.from_business && m.status === "accepted")) continue;
      const r = m.body.reaction || {};
      const entry = reactions.get(r.message_id) || {};
      entry[m.from_business ? "theirs" : "mine"] = r.emoji || "";
      reactions.set(r.message_id, entry);
    }
    const items = [];
    const shown = state.messages.filter(visibleTypes);
    const keep = new Map();
    for (const m of shown) {
      // A message's node is rebuilt only when what it shows changed, so
      // a button keeps its place (and focus) while other messages come.
      const r = reactions.get(m.id);
      const quoted = ctxOf(m) ? summary(byID.get(ctxOf(m))) : "";
      // The business's bubbles show no ticks: only failing changes them.
      const status = m.from_business ? m.status === "failed" : m.status;
      const sig = JSON.stringify([status, m.body, m.errors, m.template, r, quoted]);
      let entry = nodes.get(m.id);
      if (!entry || entry.sig !== sig) {
        let node;
        if (m.from_business && m.status === "failed") {
          const err = (m.errors && m.errors[0]) || {};
          node = el("li", "notice", t("A message from the business could not be delivered: %s", (err.code ? err.code + " " : "") + (err.title || "")));
        } else {
          node = message(m, byID, r);
        }
        entry = { sig, node };
      }
      keep.set(m.id, entry);
      items.push(entry.node);
    }
    nodes = keep;
    if (state.typing) items.push(typingNode);
    let i = 0;
    for (const node of items) {
      const cur = chatEl.children[i];
      if (cur !== node) chatEl.insertBefore(node, cur || null);
      i++;
    }
    while (chatEl.children.length > items.length) chatEl.lastElementChild.remove();
    $("biz-status").textContent = state.typing ? t("typing…") : t("online");
    renderIcebreakers(shown.length === 0);
    if (atBottom || items.length < 3) chatEl.scrollTop = chatEl.scrollHeight;
    markRead();
  }

  function renderIcebreakers(empty) {
    const box = $("icebreakers");
    const prompts = currentNumber().automation.prompts || [];
    box.replaceChildren();
    if (!empty || !prompts.length) {
      box.hidden = true;
      return;
    }
    box.append(el("p", "", t("Start the conversation: tap a question")));
    for (const p of prompts) {
      const b = el("button", "icebreaker", p);
      b.type = "button";
      b.addEventListener("click", () => sendMessage({ type: "text", text: p }));
      box.append(b);
    }
    box.hidden = false;
  }

  function clock(ts) {
    const d = new Date(ts);
    return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function ticks(status) {
    const s = el("span", "ticks");
    s.dataset.status = status;
    const label = { sent: t("Sent"), delivered: t("Delivered"), read: t("Read"), failed: t("Not delivered") }[status] || status;
    s.textContent = status === "sent" ? "✓" : status === "failed" ? "!" : "✓✓";
    s.title = label;
    s.setAttribute("aria-label", label);
    return s;
  }

  function mediaURL(ref) {
    if (ref && ref.id) return "/simulator/media/" + encodeURIComponent(ref.id);
    return null;
  }

  // media shows a photo, video, audio or document (by id from the fake;
  // a link is shown as a link, as the page may not load other sites).
  function media(kind, ref, filename) {
    const url = mediaURL(ref);
    if (!url) {
      const a = el("a", "doc", (filename || ref.link || t("Document")));
      a.href = ref.link;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      return a;
    }
    switch (kind) {
      case "image":
      case "sticker": {
        const img = el("img");
        img.src = url;
        img.alt = kind === "sticker" ? t("Sticker") : t("Photo");
        return img;
      }
      case "video": {
        const v = el("video");
        v.src = url;
        v.controls = true;
        return v;
      }
      case "audio": {
        const a = el("audio");
        a.src = url;
        a.controls = true;
        return a;
      }
      default: {
        const a = el("a", "doc", "📄 " + (filename || t("Document")));
        a.href = url;
        a.download = filename || "";
        return a;
      }
    }
  }

  // WhatsApp formatting: *bold*, _italic_, ~strike~, ```mono```.
  function formatted(text) {
    const frag = document.createDocumentFragment();
    const re = /```([\s\S]+?)```|\*([^*\n]+)\*|_([^_\n]+)_|~([^~\n]+)~/g;
    let last = 0;
    for (const m of text.matchAll(re)) {
      frag.append(text.slice(last, m.index));
      if (m[1] !== undefined) frag.append(el("code", "", m[1]));
      else if (m[2] !== undefined) frag.append(el("strong", "", m[2]));
      else if (m[3] !== undefined) frag.append(el("em", "", m[3]));
      else frag.append(el("s", "", m[4]));
      last = m.index + m[0].length;
    }
    frag.append(text.slice(last));
    return frag;
  }

  function summary(m) {
    if (!m) return t("This message is no longer available.");
    const b = m.body || {};
    if (m.from_business) {
      switch (m.type) {
        case "text": return b.text && b.text.body;
        case "interactive": return b.interactive && b.interactive.body && b.interactive.body.text;
        case "template": return (m.template && m.template.name) || t("Template");
      }
    } else {
      switch (m.type) {
        case "text": return b.text && b.text.body;
        case "interactive": return (b.interactive.button_reply || b.interactive.list_reply || {}).title;
        case "button": return b.button && b.button.text;
      }
    }
    return { image: t("Photo"), video: t("Video"), audio: t("Audio"), document: t("Document"), sticker: t("Sticker"), location: t("Location"), contacts: t("Contact") }[m.type] || m.type;
  }

  function message(m, byID, reacts) {
    const li = el("li", "msg " + (m.from_business ? "theirs" : "mine"));
    li.dataset.id = m.id;
    li.dataset.type = m.type;
    const bubble = el("div", "bubble");
    const b = m.body || {};
    const ctx = ctxOf(m);
    if (ctx) bubble.append(el("div", "quote", summary(byID.get(ctx))));
    const actions = el("div", "actions");
    if (m.from_business) business(m, b, bubble, actions);
    else customer(m, b, bubble);
    const meta = el("div", "meta");
    if (m.from_business) {
      const mine = reacts && reacts.mine;
      const react = el("button", "react", mine ? "✕" : "👍");
      react.type = "button";
      react.title = t("React with 👍");
      react.addEventListener("click", () => sendMessage({ type: "reaction", context: m.id, emoji: mine ? "" : "👍" }));
      meta.append(react);
    }
    meta.append(el("time", "", clock(m.timestamp)));
    if (!m.from_business) meta.append(ticks(m.status));
    bubble.append(meta);
    li.append(bubble);
    if (actions.children.length) li.append(actions);
    if (reacts) {
      const r = [reacts.theirs, reacts.mine].filter(Boolean).join(" ");
      if (r) {
        const span = el("span", "reactions", r);
        span.title = t("Reacted %s", r);
        li.append(span);
      }
    }
    return li;
  }

  // customer renders what the customer sent (the webhook's message).
  function customer(m, b, bubble) {
    switch (m.type) {
      case "text":
        bubble.append(formatted(b.text.body));
        break;
      case "image": case "video": case "audio": case "document": case "sticker": {
        const node = b[m.type];
        bubble.append(media(m.type, node, node.filename));
        if (node.caption) bubble.append(formatted(node.caption));
        break;
      }
      case "location":
        bubble.append(el("div", "place", "📍 " + (b.location.name || t("Location"))));
        if (b.location.address) bubble.append(el("div", "", b.location.address));
        break;
      case "interactive": {
        const c = b.interactive.button_reply || b.interactive.list_reply || {};
        bubble.append(el("span", "", c.title));
        if (c.description) bubble.append(el("div", "footer-text", c.description));
        break;
      }
      case "button":
        bubble.append(el("span", "", b.button.text));
        break;
      default:
        bubble.append(el("span", "muted", m.type));
    }
  }

  function tapButton(btn, m, message) {
    btn.type = "button";
    btn.addEventListener("click", () => {
      btn.setAttribute("aria-pressed", "true");
      sendMessage(Object.assign({ context: m.id }, message));
    });
  }

  // business renders what the business sent (its Graph request).
  function business(m, b, bubble, actions) {
    switch (m.type) {
      case "text":
        bubble.append(formatted(b.text.body));
        break;
      case "image": case "video": case "audio": case "document": case "sticker": {
        const ref = b[m.type];
        bubble.append(media(m.type, ref, ref.filename));
        if (ref.caption) bubble.append(formatted(ref.caption));
        break;
      }
      case "location": {
        const l = b.location;
        bubble.append(el("div", "place", "📍 " + (l.name || t("Location"))));
        if (l.address) bubble.append(el("div", "", l.address));
        bubble.append(el("div", "footer-text", l.latitude + ", " + l.longitude));
        break;
      }
      case "contacts":
        for (const c of b.contacts) {
          bubble.append(el("div", "place", "👤 " + c.name.formatted_name));
          for (const p of c.phones || []) bubble.append(el("div", "", p.phone));
        }
        break;
      case "interactive":
        interactive(m, b.interactive, bubble, actions);
        break;
      case "template":
        template(m, b.template, bubble, actions);
        break;
      default:
        bubble.append(el("span", "muted", m.type));
    }
  }

  function header(h, bubble) {
    if (!h) return;
    if (h.type === "text") bubble.append(el("div", "header-text", h.text));
    else if (h[h.type]) bubble.append(media(h.type, h[h.type], h[h.type].filename));
  }

  function interactive(m, i, bubble, actions) {
    header(i.header, bubble);
    if (i.body) bubble.append(formatted(i.body.text));
    if (i.footer) bubble.append(el("div", "footer-text", i.footer.text));
    const a = i.action || {};
    switch (i.type) {
      case "button":
        for (const btn of a.buttons || []) {
          const node = el("button", "reply-button", btn.reply.title);
          node.dataset.id = btn.reply.id;
          tapButton(node, m, { type: "button_reply", id: btn.reply.id, title: btn.reply.title });
          actions.append(node);
        }
        break;
      case "list": {
        const open = el("button", "list-open", "☰ " + a.button);
        open.type = "button";
        open.addEventListener("click", () => openList(m, a));
        actions.append(open);
        break;
      }
      case "cta_url": {
        const link = el("a", "cta", "↗ " + a.parameters.display_text);
        link.href = a.parameters.url;
        link.target = "_blank";
        link.rel = "noopener noreferrer";
        actions.append(link);
        break;
      }
    }
  }

  function openList(m, a) {
    const sheet = $("sheet");
    $("sheet-title").textContent = a.button || t("Choose an option");
    const body = $("sheet-body");
    body.replaceChildren();
    for (const s of a.sections || []) {
      if (s.title) body.append(el("h3", "", s.title));
      for (const r of s.rows || []) {
        const row = el("button", "row list-row", r.title);
        row.dataset.id = r.id;
        if (r.description) row.append(el("small", "", r.description));
        row.type = "button";
        row.addEventListener("click", () => {
          sheet.close();
          sendMessage({ type: "list_reply", context: m.id, id: r.id, title: r.title, description: r.description || "" });
        });
        body.append(row);
      }
    }
    sheet.showModal();
  }

  // paramText is what a template parameter shows.
  function paramText(p) {
    if (!p) return "";
    if (p.text !== undefined) return p.text;
    if (p.currency) return p.currency.fallback_value;
    if (p.date_time) return p.date_time.fallback_value;
    return "";
  }

  function fill(text, params, named) {
    return (text || "").replace(/\{\{\s*([a-z0-9_]+)\s*\}\}/g, (all, k) => {
      const p = named ? params.find((x) => x.parameter_name === k) : params[Number(k) - 1];
      return p ? paramText(p) : all;
    });
  }

  function template(m, send, bubble, actions) {
    const def = m.template;
    if (!def) {
      bubble.append(el("span", "muted", send.name));
      return;
    }
    const named = def.parameter_format === "NAMED";
    const given = {};
    const buttons = {};
    for (const c of send.components || []) {
      const type = (c.type || "").toLowerCase();
      if (type === "button") buttons[Number(c.index)] = c;
      else given[type] = c.parameters || [];
    }
    for (const c of def.components || []) {
      switch (c.type) {
        case "HEADER":
          if (c.format === "TEXT") bubble.append(el("div", "header-text", fill(c.text, given.header || [], named)));
          else if (given.header && given.header[0]) {
            const p = given.header[0];
            bubble.append(media(p.type, p[p.type] || {}, (p[p.type] || {}).filename));
          }
          break;
        case "BODY":
          bubble.append(formatted(fill(c.text, given.body || [], named)));
          break;
        case "FOOTER":
          bubble.append(el("div", "footer-text", c.text));
          break;
        case "BUTTONS":
          (c.buttons || []).forEach((btn, i) => {
            const sent = buttons[i];
            const param = sent && sent.parameters && sent.parameters[0];
            switch (btn.type) {
              case "QUICK_REPLY": {
                const node = el("button", "quick-reply", btn.text);
                node.dataset.payload = (param && param.payload) || btn.text;
                tapButton(node, m, { type: "quick_reply", payload: node.dataset.payload, text: btn.text });
                actions.append(node);
                break;
              }
              case "URL": {
                const a = el("a", "cta", "↗ " + btn.text);
                a.href = (btn.url || "").replace(/\{\{1\}\}/, param ? encodeURIComponent(paramText(param)) : "");
                a.target = "_blank";
                a.rel = "noopener noreferrer";
                actions.append(a);
                break;
              }
              case "PHONE_NUMBER": {
                const a = el("a", "cta", "📞 " + btn.text);
                a.href = "tel:" + btn.phone_number;
                actions.append(a);
                break;
              }
              default:
                actions.append(el("button", "", btn.text));
            }
          });
          break;
      }
    }
  }
})();
