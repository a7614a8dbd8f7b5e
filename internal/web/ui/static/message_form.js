// The stored message form (templates/_message_form.html), each instance
// on its own (several may sit in one <form>; inputs are found by data-mf,
// never by name, which carries the instance's prefix): the part of the
// chosen kind, WhatsApp's formatting around the selection, emoji and
// variables at the caret, the file uploaded to /api/v1/attachments, the
// characters counted against Meta's limits, and the preview as the
// customer reads it, with the variables filled with examples. What is
// typed is only ever set as text.
(function () {
  "use strict";

  const stringsEl = document.getElementById("sb-strings");
  let strings = {};
  try { strings = stringsEl ? JSON.parse(stringsEl.textContent) : {}; } catch (e) { strings = {}; }
  function t(s) { return strings[s] || s; }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  // formatted appends text to parent as WhatsApp shows it, by the rules
  // of reply.FormatHTML (the server's previews): *bold*, _italic_,
  // ~strikethrough~, ```monospace``` and `code`, a marker opening at the
  // start of a word and closing at its end, on one line.
  const wordRE = /[\p{L}\p{N}\p{M}]/u;
  const spaceRE = /\s/u;
  const tags = { "*": "strong", "_": "em", "~": "s", "`": "code" };
  function cp(s, i) { return i >= 0 && i < s.length ? String.fromCodePoint(s.codePointAt(i)) : ""; }
  function before(s, i) {
    if (i <= 0) return "";
    const c = s.charCodeAt(i - 1);
    return c >= 0xdc00 && c <= 0xdfff && i >= 2 ? cp(s, i - 2) : cp(s, i - 1);
  }
  function opens(s, i) {
    const prev = before(s, i);
    if (prev && (wordRE.test(prev) || prev === s[i])) return false;
    const next = cp(s, i + 1);
    return next !== "" && !spaceRE.test(next) && next !== s[i];
  }
  function closing(s, from, marker) {
    for (let j = from; j + marker.length <= s.length; j++) {
      if (!s.startsWith(marker, j)) continue;
      const prev = before(s, j);
      if (spaceRE.test(prev) || prev === marker[0]) continue;
      const after = cp(s, j + marker.length);
      if (after && (wordRE.test(after) || after === marker[0])) continue;
      return j;
    }
    return -1;
  }
  function formatLine(parent, s) {
    let last = 0;
    for (let i = 0; i < s.length; i++) {
      if (s.startsWith("```", i) && opens(s.slice(i + 2), 0) && (i === 0 || !wordRE.test(before(s, i)))) {
        const j = closing(s, i + 3, "```");
        if (j > i + 3) {
          parent.append(s.slice(last, i), el("code", null, s.slice(i + 3, j)));
          i = j + 2;
          last = j + 3;
          continue;
        }
      }
      const c = s[i];
      if (!tags[c] || !opens(s, i)) continue;
      const j = closing(s, i + 1, c);
      if (j < 0) continue;
      parent.append(s.slice(last, i));
      const span = parent.appendChild(document.createElement(tags[c]));
      if (c === "`") span.textContent = s.slice(i + 1, j);
      else formatLine(span, s.slice(i + 1, j));
      i = j;
      last = j + 1;
    }
    parent.append(s.slice(last));
  }
  function formatted(parent, text) {
    text.split("\n").forEach(function (line, i) {
      if (i > 0) parent.append(document.createElement("br"));
      formatLine(parent, line);
    });
  }

  function setup(form) {
    if (form.dataset.ready) return;
    form.dataset.ready = "1";
    const mf = function (what) { return form.querySelector("[data-mf='" + what + "']"); };
    const text = mf("text");
    const counter = form.querySelector(".counter");
    const preview = form.querySelector("[data-preview]");
    const fileId = mf("attachment_id");
    const chosen = form.querySelector(".file-chosen");
    const picker = form.querySelector("input[data-message-file]");
    const sample = {
      "contact.name": form.dataset.sampleContact || "",
      "agent.public_name": form.dataset.sampleAgent || "",
      "inbox.name": form.dataset.sampleInbox || "",
      "queue.position": "3",
      "queue.estimated_wait": "5 minutes",
    };
    const fill = function (s) {
      // A variable without an example (the page gave none) stays as it is.
      return s.replace(/\{\{\s*([a-z_.]+)\s*\}\}/g, function (m, name) { return sample[name] ? sample[name] : m; });
    };
    const kind = function () {
      const r = form.querySelector("[data-mf='kind']:checked");
      return r ? r.value : "text";
    };
    const value = function (what) {
      const i = mf(what);
      return i ? i.value.trim() : "";
    };

    function textMax() {
      const k = kind();
      if (k === "media") return Number(text.dataset.maxMedia);
      if (k === "list") return Number(text.dataset.maxList);
      if (k === "buttons" || k === "link") return Number(text.dataset.maxBody);
      return Number(text.dataset.max);
    }

    function draw() {
      const k = kind();
      form.querySelectorAll("[data-kinds]").forEach(function (part) {
        part.hidden = part.dataset.kinds.split(" ").indexOf(k) < 0;
      });
      const max = textMax();
      const n = Array.from(text.value).length;
      counter.textContent = n + " / " + max;
      counter.classList.toggle("over", n > max);
      if (!preview) return;
      preview.replaceChildren();
      const name = chosen && !chosen.hidden ? chosen.querySelector(".file-name").textContent : "";
      if (name && k !== "text" && k !== "list") preview.append(el("p", "preview-file", "📎 " + name));
      const interactive = k === "buttons" || k === "list" || k === "link";
      if (interactive && value("header_text")) preview.append(el("p", "preview-header", fill(value("header_text"))));
      const body = el("p", "preview-text");
      formatted(body, fill(text.value));
      preview.append(body);
      if (interactive && value("footer")) preview.append(el("p", "preview-footer muted", fill(value("footer"))));
      const buttons = el("p", "wa-buttons");
      if (k === "buttons") {
        form.querySelectorAll("[data-mf='button']").forEach(function (b) {
          if (b.value.trim()) buttons.append(el("span", "wa-button", b.value.trim()));
        });
      }
      if (k === "list" && value("list_button")) buttons.append(el("span", "wa-button", "☰ " + value("list_button")));
      if (k === "link" && value("display_text")) buttons.append(el("span", "wa-button", "↗ " + fill(value("display_text"))));
      if (buttons.childNodes.length) preview.append(buttons);
    }

    // Until the text is first used, its caret is at its end (a page
    // loaded again with it puts the caret at the start); after, the text
    // keeps its selection when a button of the bar is pressed.
    let used = false;
    text.addEventListener("focus", function () { used = true; });

    // insert puts s at the caret (or around the selection, with wrap).
    function insert(s, wrap) {
      const a = used ? text.selectionStart : text.value.length, b = used ? text.selectionEnd : text.value.length;
      const v = text.value;
      if (wrap) {
        text.value = v.slice(0, a) + s + v.slice(a, b) + s + v.slice(b);
        text.setSelectionRange(a + s.length, b + s.length);
      } else {
        text.value = v.slice(0, a) + s + v.slice(b);
        text.setSelectionRange(a + s.length, a + s.length);
      }
      text.focus();
      draw();
    }

    form.addEventListener("click", function (e) {
      const w = e.target.closest("[data-wrap]");
      if (w) { insert(w.dataset.wrap, true); return; }
      const i = e.target.closest("[data-insert]");
      if (i) {
        insert(i.dataset.insert, false);
        const menu = i.closest("details");
        if (menu) menu.open = false;
        return;
      }
      if (e.target.closest(".remove-file")) {
        fileId.value = "";
        chosen.hidden = true;
        draw();
      }
    });
    form.addEventListener("input", draw);
    form.addEventListener("change", draw);

    if (picker) {
      picker.addEventListener("change", async function () {
        const file = picker.files[0];
        picker.value = "";
        if (!file) return;
        const label = chosen.querySelector(".file-name");
        label.textContent = file.name + " · " + t("uploading…");
        chosen.hidden = false;
        const submit = form.closest("form") && form.closest("form").querySelector("button[type=submit]");
        if (submit) submit.disabled = true;
        try {
          const fd = new FormData();
          fd.append("file", file, file.name);
          const res = await fetch("/api/v1/attachments", { method: "POST", body: fd, credentials: "same-origin" });
          const data = await res.json().catch(function () { return {}; });
          if (!res.ok) {
            const err = data.error || {};
            label.textContent = file.name + ": " + ((err.fields && err.fields.file) || err.message || t("the upload failed."));
            fileId.value = "";
            return;
          }
          fileId.value = String(data.id);
          label.textContent = file.name;
        } catch (e) {
          label.textContent = file.name + ": " + t("the upload failed; check the connection and try again.");
          fileId.value = "";
        } finally {
          if (submit) submit.disabled = false;
          draw();
        }
      });
    }
    draw();
  }

  function enhance(root) {
    if (!root || !root.querySelectorAll) return;
    if (root.matches && root.matches("[data-message-form]")) setup(root);
    root.querySelectorAll("[data-message-form]").forEach(setup);
  }

  document.addEventListener("htmx:load", function (e) { enhance(e.detail.elt); });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { enhance(document.body); });
  else enhance(document.body);
})();
