// WhatsApp in the workspace: the time left in a conversation's 24-hour
// window, the kinds of the WhatsApp composer, a template's live preview,
// a template header's file, the ice breakers' emoji check, and admins'
// alerts about a number. Every piece of markup comes from the server's
// templates; words come from the page (#sb-strings).
(function () {
  "use strict";

  const stringsEl = document.getElementById("sb-strings");
  let strings = {};
  try { strings = stringsEl ? JSON.parse(stringsEl.textContent) : {}; } catch (e) { strings = {}; }
  function t(s) { return strings[s] || s; }
  function format(s, arg) { return s.replace("%s", arg); }

  function flash(message) {
    const el = document.getElementById("flash");
    if (!el) return;
    el.textContent = message;
    el.hidden = false;
    setTimeout(function () { el.hidden = true; }, 12000);
  }

  // ---- The 24-hour window ------------------------------------------------

  function left(ms) {
    const min = Math.max(0, Math.floor(ms / 60000));
    const h = Math.floor(min / 60);
    if (h > 0) return format(t("%s left"), h + " h " + (min % 60) + " min");
    return format(t("%s left"), min + " min");
  }

  function updateWindows() {
    document.querySelectorAll("[data-wa-window-ends]").forEach(function (el) {
      const end = new Date(el.getAttribute("data-wa-window-ends"));
      if (isNaN(end)) return;
      const ms = end - new Date();
      const open = ms > 0;
      const text = open ? left(ms) : t("closed: send a template");
      const slot = el.querySelector(".wa-left");
      if (slot) slot.textContent = open ? "(" + text + ")" : "";
      else el.textContent = open ? t("24-hour window") + ": " + text : t("24-hour window closed");
      el.classList.toggle("closed", !open);
      el.title = end.toLocaleString();
    });
  }

  // ---- The composer's kinds -----------------------------------------------

  function setupPanel(panel) {
    if (!panel || panel.dataset.ready) return;
    panel.dataset.ready = "1";
    panel.querySelectorAll("[data-wa-kind]").forEach(function (a) {
      a.addEventListener("click", function (e) {
        e.preventDefault();
        const kind = a.getAttribute("data-wa-kind");
        panel.querySelectorAll("[data-wa-kind]").forEach(function (x) {
          if (x === a) x.setAttribute("aria-current", "true"); else x.removeAttribute("aria-current");
        });
        panel.querySelectorAll("form.wa-form").forEach(function (f) { f.hidden = f.id !== "wa-" + kind; });
      });
    });
  }

  // ---- Limits: a live count -------------------------------------------------

  // Fields with Meta's limits (data-max) count their characters as they
  // are typed. Nothing is cut: a value over the limit shows in red and
  // the server refuses it with the limit and the count.
  function setupCounts(root) {
    root.querySelectorAll(".wa-panel [data-max], .wa-template-fields [data-max]").forEach(function (input) {
      if (input.dataset.counted) return;
      input.dataset.counted = "1";
      const max = Number(input.dataset.max);
      const wrap = document.createElement("span");
      wrap.className = "wa-field";
      const count = document.createElement("span");
      count.className = "wa-count";
      count.setAttribute("aria-live", "polite");
      count.dataset.countFor = input.name;
      input.replaceWith(wrap);
      wrap.append(input, count);
      const update = function () {
        const n = Array.from(input.value).length;
        count.textContent = n ? n + " / " + max : "";
        count.classList.toggle("over", n > max);
        if (n > max) input.setAttribute("aria-invalid", "true");
        else if (input.dataset.countedInvalid !== "server") input.removeAttribute("aria-invalid");
      };
      if (input.getAttribute("aria-invalid") === "true") input.dataset.countedInvalid = "server";
      input.addEventListener("input", function () { delete input.dataset.countedInvalid; update(); });
      update();
    });
  }

  // ---- Templates: preview and header file ----------------------------------

  function preview(box) {
    const fields = box.closest(".wa-template-fields");
    const out = box.querySelector(".wa-preview-text");
    if (!fields || !out) return;
    const values = {};
    fields.querySelectorAll("[data-wa-param]").forEach(function (input) {
      values[input.getAttribute("data-wa-param")] = input.value;
    });
    out.textContent = box.getAttribute("data-wa-preview").replace(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g, function (m, name) {
      const v = values["body." + name];
      return v ? v : m;
    });
  }

  function setupTemplateFields(root) {
    root.querySelectorAll(".wa-template-fields").forEach(function (fields) {
      if (fields.dataset.ready) return;
      fields.dataset.ready = "1";
      const box = fields.querySelector("[data-wa-preview]");
      if (box) {
        fields.addEventListener("input", function () { preview(box); });
        preview(box);
      }
      fields.querySelectorAll("input[data-wa-upload]").forEach(function (input) {
        input.addEventListener("change", function () { upload(input, fields); });
      });
    });
  }

  async function upload(input, fields) {
    const file = input.files && input.files[0];
    const hidden = fields.querySelector("input[name=attachment]");
    if (!file || !hidden) return;
    const fd = new FormData();
    fd.append("file", file, file.name);
    input.disabled = true;
    try {
      const res = await fetch("/api/v1/attachments", { method: "POST", body: fd, credentials: "same-origin" });
      const data = await res.json().catch(function () { return {}; });
      if (!res.ok) {
        const err = data.error || {};
        flash(file.name + ": " + ((err.fields && err.fields.file) || err.message || t("the upload failed.")));
        input.value = "";
        return;
      }
      hidden.value = String(data.id);
    } catch (e) {
      flash(file.name + ": " + t("the upload failed."));
    } finally {
      input.disabled = false;
    }
  }

  // ---- Ice breakers: no emoji ------------------------------------------------

  let emojiRE = null;
  try { emojiRE = new RegExp("[\\p{Extended_Pictographic}\\u{1F1E6}-\\u{1F1FF}\\u20E3\\uFE0F]", "u"); } catch (e) { emojiRE = null; }
  const textSymbols = /[\u00A9\u00AE\u2122]/g;

  function setupIce(root) {
    if (!emojiRE) return;
    root.querySelectorAll("input[data-wa-no-emoji]").forEach(function (input) {
      if (input.dataset.ready) return;
      input.dataset.ready = "1";
      input.addEventListener("input", function () {
        const bad = emojiRE.test(input.value.replace(textSymbols, ""));
        input.setCustomValidity(bad ? t("Ice breakers cannot contain emoji: WhatsApp refuses them.") : "");
        input.setAttribute("aria-invalid", bad ? "true" : "false");
        if (bad) input.reportValidity();
      });
    });
  }

  // ---- Start ---------------------------------------------------------------

  function enhance(root) {
    if (!root || !root.querySelectorAll) return;
    const panel = root.id === "wa-panel" ? root : root.querySelector("#wa-panel");
    if (panel) setupPanel(panel);
    setupTemplateFields(root.classList && root.classList.contains("wa-template-fields") ? root.parentNode || root : root);
    setupCounts(root);
    setupIce(root);
    updateWindows();
  }

  document.addEventListener("sb:event", function (e) {
    const f = e.detail || {};
    if (f.type === "whatsapp.alert" && f.data) {
      const d = f.data;
      if (d.code === "190") flash(format(t("The access token of %s was refused by Meta: enter a new one in the inbox settings."), d.inbox));
      else flash(format(t("Meta reports a problem with %s:"), d.inbox) + " " + (d.title || d.message) + (d.details ? " — " + d.details : ""));
    }
    if (f.type === "conversation.updated" || f.type === "message.created") setTimeout(updateWindows, 500);
  });
  document.addEventListener("htmx:load", function (e) { enhance(e.detail.elt); });

  function start() {
    enhance(document.body);
    setInterval(updateWindows, 30000);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
