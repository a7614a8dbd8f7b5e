// Canned responses in the workspace: the composer's picker ("/" then a
// short code) and the company presets' drawer (the form of a canned
// response is the shared message form: message_form.js). Every piece of
// markup comes from the server's templates; words come from the page
// (#sb-strings).
(function () {
  "use strict";

  const stringsEl = document.getElementById("sb-strings");
  let strings = {};
  try { strings = stringsEl ? JSON.parse(stringsEl.textContent) : {}; } catch (e) { strings = {}; }
  function t(s) { return strings[s] || s; }

  function flash(message) {
    const el = document.getElementById("flash");
    if (!el) return;
    el.textContent = message;
    el.hidden = false;
    setTimeout(function () { el.hidden = true; }, 8000);
  }

  function toLogin() {
    location.assign("/login?next=" + encodeURIComponent(location.pathname + location.search));
  }

  function fragment(html) {
    const tpl = document.createElement("template");
    tpl.innerHTML = html.trim();
    return tpl.content.firstElementChild;
  }

  function changed(el) { el.dispatchEvent(new Event("input", { bubbles: true })); }

  // ---- The company presets' drawer -------------------------------------------

  document.addEventListener("click", function (e) {
    const open = e.target.closest && e.target.closest("[data-drawer-open]");
    if (open) {
      const d = document.getElementById(open.dataset.drawerOpen);
      if (d && !d.open) {
        d.showModal();
        const q = d.querySelector("input[type=search]");
        if (q) q.focus();
      }
      return;
    }
    const close = e.target.closest && e.target.closest("[data-drawer-close]");
    if (close) { close.closest("dialog").close(); return; }
    // A click on the backdrop (outside the drawer's box) closes it.
    if (e.target.matches && e.target.matches("dialog.drawer[open]")) {
      const r = e.target.getBoundingClientRect();
      if (e.clientX < r.left || e.clientX > r.right || e.clientY < r.top || e.clientY > r.bottom) e.target.close();
    }
  });

  // Escape closes the drawer at once, even from its search (which would
  // take the first Escape to clear itself).
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape" || !e.target.closest) return;
    const d = e.target.closest("dialog.drawer[open]");
    if (d) { e.preventDefault(); d.close(); }
  });

  // ---- The composer's picker -------------------------------------------------

  // The picker opens when the word at the cursor starts with "/": what
  // follows is the search.
  const tokenRE = /(^|\s)\/([^\s\/]*)$/;

  const picker = {
    box: null,     // the textarea it serves
    el: null,      // the picker's element
    start: 0,      // where the "/" is
    q: null,       // the search shown
    dismissed: -1, // the "/" whose picker Escape closed
    timer: 0,
    version: 0,
  };

  function composerBox(el) {
    return el && el.matches && el.matches("#composer textarea[name=text]") ? el : null;
  }

  function token(box) {
    if (box.selectionStart !== box.selectionEnd) return null;
    const m = box.value.slice(0, box.selectionStart).match(tokenRE);
    if (!m) return null;
    return { start: box.selectionStart - m[2].length - 1, q: m[2] };
  }

  function closePicker() {
    clearTimeout(picker.timer);
    picker.version++;
    if (picker.el) picker.el.remove();
    if (picker.box) {
      picker.box.setAttribute("aria-expanded", "false");
      picker.box.removeAttribute("aria-activedescendant");
    }
    picker.el = null;
    picker.q = null;
  }

  function update(box) {
    const tok = token(box);
    if (!tok || tok.start === picker.dismissed) {
      if (!tok) picker.dismissed = -1;
      closePicker();
      return;
    }
    picker.box = box;
    picker.start = tok.start;
    if (tok.q === picker.q && picker.el) return;
    clearTimeout(picker.timer);
    picker.timer = setTimeout(function () { load(box, tok.q); }, picker.el ? 120 : 0);
  }

  async function load(box, q) {
    const form = box.closest("#composer");
    const conv = form && form.dataset.conversation;
    if (!conv) return;
    const v = ++picker.version;
    let res;
    try {
      res = await fetch("/inbox/conversations/" + conv + "/canned?q=" + encodeURIComponent(q), { headers: { "HX-Request": "true" }, credentials: "same-origin" });
    } catch (e) {
      return;
    }
    if (res.status === 401) { toLogin(); return; }
    const html = await res.text();
    if (v !== picker.version || !document.body.contains(box)) return;
    if (!res.ok) { flash(html || t("The canned responses could not be loaded.")); return; }
    const el = fragment(html);
    if (picker.el) picker.el.replaceWith(el); else box.closest("#composer").prepend(el);
    picker.el = el;
    picker.q = q;
    box.setAttribute("aria-autocomplete", "list");
    box.setAttribute("aria-controls", "canned-options");
    box.setAttribute("aria-expanded", "true");
    select(selected() || el.querySelector("[role=option]"));
  }

  function options() { return picker.el ? Array.from(picker.el.querySelectorAll("[role=option]")) : []; }
  function selected() { return picker.el && picker.el.querySelector("[role=option][aria-selected=true]"); }

  function select(opt) {
    if (!opt || !picker.el) return;
    options().forEach(function (o) { o.setAttribute("aria-selected", String(o === opt)); });
    picker.el.querySelectorAll(".canned-preview-of").forEach(function (p) { p.hidden = p.dataset.for !== opt.dataset.canned; });
    picker.box.setAttribute("aria-activedescendant", opt.id);
    opt.scrollIntoView({ block: "nearest" });
  }

  function move(by) {
    const all = options();
    if (all.length === 0) return;
    const i = all.indexOf(selected());
    select(all[(i + by + all.length) % all.length]);
  }

  // insert puts the chosen response in the composer: its text in place of
  // the "/search", its file among the uploads, and on WhatsApp its
  // buttons, list or link button in the rich composer.
  function insert(opt) {
    const box = picker.box;
    const form = box.closest("#composer");
    const conv = form.dataset.conversation;
    let data = {};
    try { data = JSON.parse(opt.dataset.insert); } catch (e) { return; }
    const start = picker.start, end = box.selectionStart;
    closePicker();
    const panel = document.getElementById("wa-panel");
    const rich = data.kind && panel && panel.querySelector("#wa-" + data.kind);
    box.setRangeText(rich ? "" : data.text, start, end, "end");
    box.focus();
    changed(box);
    if (rich) fillRich(panel, rich, data);
    if (data.file) attach(form, conv, opt.dataset.canned, data, rich);
  }

  function setField(form, name, value) {
    const el = form.querySelector('[name="' + name + '"]');
    if (!el) return;
    el.value = value || "";
    el.dispatchEvent(new Event("input", { bubbles: true }));
  }

  // fillRich fills the WhatsApp composer's form of the response's kind
  // and opens it.
  function fillRich(panel, form, data) {
    const details = panel.querySelector("details");
    if (details) details.open = true;
    const tab = panel.querySelector('[data-wa-kind="' + data.kind + '"]');
    if (tab) tab.click();
    setField(form, "header_text", data.header_text);
    setField(form, "body", data.text);
    setField(form, "footer", data.footer);
    if (data.kind === "buttons") {
      for (let i = 0; i < 3; i++) setField(form, "button." + i, (data.buttons || [])[i]);
    }
    if (data.kind === "list") {
      setField(form, "list_button", data.list_button);
      setField(form, "section_title", data.section_title);
      for (let i = 0; i < 10; i++) {
        const r = (data.rows || [])[i] || {};
        setField(form, "row." + i, r.title);
        setField(form, "row_description." + i, r.description);
      }
    }
    if (data.kind === "link") {
      setField(form, "display_text", data.display_text);
      setField(form, "url", data.url);
    }
    form.querySelectorAll(".canned-header-file").forEach(function (el) { el.remove(); });
    const body = form.querySelector('[name="body"]');
    if (body) body.focus();
  }

  // attach copies the response's file as the agent's upload: among the
  // composer's files, or as the header of the rich composer's message.
  async function attach(form, conv, id, data, rich) {
    const uploads = form.querySelector(".uploads");
    const send = form.querySelector("button[type=submit]");
    const busy = document.createElement("li");
    busy.className = "upload busy";
    busy.textContent = data.file_name + " " + t("uploading…");
    if (!rich) uploads.append(busy);
    send.disabled = true;
    try {
      const res = await fetch("/inbox/conversations/" + conv + "/canned/" + id + "/file", { method: "POST", headers: { "HX-Request": "true" }, credentials: "same-origin" });
      if (res.status === 401) { toLogin(); return; }
      const html = await res.text();
      if (!res.ok) { flash(data.file_name + ": " + (html || t("the upload failed."))); return; }
      const li = fragment(html);
      if (!rich) { busy.replaceWith(li); return; }
      // The rich composer sends the file as its header.
      const chip = document.createElement("p");
      chip.className = "canned-header-file hint";
      chip.textContent = "📎 " + data.file_name;
      const a = document.createElement("input");
      a.type = "hidden"; a.name = "attachment"; a.value = li.dataset.id;
      const h = document.createElement("input");
      h.type = "hidden"; h.name = "header_type"; h.value = data.file_kind;
      chip.append(a, h);
      rich.prepend(chip);
    } catch (e) {
      flash(data.file_name + ": " + t("the upload failed; check the connection and try again."));
    } finally {
      busy.remove();
      send.disabled = false;
    }
  }

  document.addEventListener("input", function (e) {
    const box = composerBox(e.target);
    if (box) update(box);
  });

  // Keys go to the picker while it is open, before the composer sees them
  // (Enter would send the reply).
  document.addEventListener("keydown", function (e) {
    const box = composerBox(e.target);
    if (!box || !picker.el || e.isComposing) return;
    switch (e.key) {
      case "ArrowDown": move(1); break;
      case "ArrowUp": move(-1); break;
      case "Enter":
      case "Tab":
        if (e.shiftKey) return;
        if (!selected()) { closePicker(); return; }
        insert(selected());
        break;
      case "Escape":
        picker.dismissed = picker.start;
        closePicker();
        break;
      default:
        return;
    }
    e.preventDefault();
    e.stopImmediatePropagation();
  }, true);

  // The cursor moved (a click, Home/End): the word at it may not be a
  // "/search" any more.
  document.addEventListener("keyup", function (e) {
    const box = composerBox(e.target);
    if (box && (e.key === "ArrowLeft" || e.key === "ArrowRight" || e.key === "Home" || e.key === "End")) update(box);
  });

  document.addEventListener("mousedown", function (e) {
    if (!picker.el) return;
    const opt = e.target.closest && e.target.closest(".canned-picker [role=option]");
    if (opt) {
      e.preventDefault(); // keep the focus in the reply box
      select(opt);
      insert(opt);
      return;
    }
    if (!picker.el.contains(e.target) && e.target !== picker.box) closePicker();
  });

  // A composer replaced after a send takes the picker with it.
  document.addEventListener("htmx:beforeSwap", function (e) {
    if (picker.el && e.detail.target && e.detail.target.contains(picker.el)) closePicker();
  });
})();
