// People in the workspace: the avatar menu and the status it shows, the
// user's own changes arriving from other tabs (status, profile, language,
// preferences), notification sounds and browser pop-ups, and the
// notification settings page. Words come from the page (#sb-strings);
// app.js hands every live event over as an "sb:event" DOM event.
(function () {
  "use strict";

  const body = document.body;
  const strings = readJSON("sb-strings") || {};
  function t(s) { return strings[s] || s; }
  let prefs = readJSON("sb-prefs");

  function readJSON(id) {
    const el = document.getElementById(id);
    if (!el) return null;
    try { return JSON.parse(el.textContent); } catch (e) { return null; }
  }

  // ---- The avatar menu ----------------------------------------------------

  const menu = document.getElementById("me-menu");
  if (menu) {
    document.addEventListener("click", function (e) {
      if (menu.open && !menu.contains(e.target)) menu.open = false;
    });
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && menu.open) { menu.open = false; menu.querySelector("summary").focus(); }
    });
    // Choosing a status stays on the page: the answer is 204 and the
    // status.changed event updates every tab, this one included.
    const form = menu.querySelector(".status-menu");
    if (form) {
      form.addEventListener("submit", function (e) {
        const btn = e.submitter;
        if (!btn || !window.fetch) return;
        e.preventDefault();
        const data = new URLSearchParams({ status: btn.value });
        fetch(form.action, {
          method: "POST", credentials: "same-origin", body: data,
          headers: { "HX-Request": "true", "Content-Type": "application/x-www-form-urlencoded" }
        }).then(function (res) {
          if (res.status === 401) { location.assign("/login"); return; }
          if (!res.ok) return res.text().then(function (msg) { flash(msg || t("The status could not be changed.")); });
          showStatus(btn.value);
          menu.open = false;
        }, function () { flash(t("Switchboard cannot be reached. Check the connection and try again.")); });
      });
    }
  }

  function flash(message) {
    const el = document.getElementById("flash");
    if (!el) return;
    el.textContent = message;
    el.hidden = false;
    setTimeout(function () { el.hidden = true; }, 8000);
  }

  function statusLabel(s) {
    const btn = document.querySelector('.status-choice[data-status="' + s + '"]');
    return btn ? btn.textContent.trim() : s;
  }

  function showStatus(s) {
    const badge = document.querySelector("#me-status .status-badge");
    if (badge) {
      badge.dataset.status = s;
      badge.textContent = statusLabel(s);
    }
    document.querySelectorAll(".status-choice").forEach(function (b) {
      b.setAttribute("aria-pressed", b.dataset.status === s ? "true" : "false");
    });
    body.dataset.status = s;
  }

  function initials(name) {
    const words = name.trim().split(/\s+/).filter(Boolean);
    const out = words.slice(0, 2).map(function (w) { return Array.from(w)[0].toUpperCase(); }).join("");
    return out || "?";
  }

  function showProfile(u) {
    const name = document.getElementById("me-name");
    if (name) name.textContent = u.name;
    const av = document.getElementById("me-avatar");
    if (av) {
      let el;
      if (u.avatar_url) {
        el = document.createElement("img");
        el.className = "avatar";
        el.src = u.avatar_url;
        el.alt = "";
        el.width = 28;
        el.height = 28;
      } else {
        el = document.createElement("span");
        el.className = "avatar initials";
        el.setAttribute("aria-hidden", "true");
        el.textContent = initials(u.name);
      }
      av.replaceChildren(el);
    }
    if (u.language && u.language !== document.documentElement.lang) changeLanguage();
  }

  // leaving is set once this page is on its way to another (a form was
  // sent): the next page comes in the right language anyway.
  let leaving = false;
  window.addEventListener("beforeunload", function () { leaving = true; });
  document.addEventListener("submit", function (e) { if (!e.defaultPrevented) leaving = true; });

  // changeLanguage shows the page again in the new language, unless
  // something typed would be lost: then it says so.
  function changeLanguage() {
    if (leaving) return;
    const typing = Array.from(document.querySelectorAll("main textarea, main input[type=text], main input:not([type])")).some(function (el) {
      return el.value !== el.defaultValue;
    });
    if (!typing) { location.reload(); return; }
    flash(t("Your language changed: reload the page to see it."));
  }

  function applyPrefs(p) {
    prefs = p;
    if (p.capitalize_first) body.dataset.capitalize = "true"; else delete body.dataset.capitalize;
  }

  // ---- Notifications --------------------------------------------------------

  const titles = {
    assigned: t("A conversation was assigned to you"),
    message: t("New message"),
    unassigned: t("A new conversation is waiting"),
    transferred: t("A conversation was transferred to you")
  };

  // Conversations this browser acted on lately (a reply, an assignment):
  // their "assigned" needs no alert. Shared by the tabs of the browser.
  const acted = new Map();
  const channel = "BroadcastChannel" in window ? new BroadcastChannel("switchboard-acted") : null;
  if (channel) channel.onmessage = function (e) { acted.set(Number(e.data), Date.now()); };
  document.addEventListener("htmx:beforeRequest", function (e) {
    const path = (e.detail.requestConfig && e.detail.requestConfig.path) || "";
    const m = path.match(/^\/inbox\/conversations\/(\d+)\/(messages|assign)$/);
    if (m && e.detail.requestConfig.verb === "post") {
      acted.set(Number(m[1]), Date.now());
      if (channel) channel.postMessage(m[1]);
    }
  });
  function actedOn(id) {
    const at = acted.get(id);
    return at !== undefined && Date.now() - at < 15000;
  }

  function openConversation() {
    const el = document.getElementById("conv");
    return el ? Number(el.dataset.conversation) : 0;
  }

  function inFront() { return document.visibilityState === "visible" && document.hasFocus(); }

  const sounds = {};
  function play(name) {
    if (!name) return;
    let a = sounds[name];
    if (!a) { a = new Audio("/static/sounds/" + name + ".wav"); sounds[name] = a; }
    a.currentTime = 0;
    const p = a.play();
    if (p && p.catch) p.catch(function () { /* the browser wants a click first */ });
  }

  // once runs fn in one tab of the browser only, for an event sequence.
  function once(seq, fn) {
    const key = "sb-notified-" + seq;
    const run = function () {
      try {
        if (localStorage.getItem(key)) return;
        localStorage.setItem(key, String(Date.now()));
      } catch (e) { /* storage off: every tab alerts */ }
      fn();
    };
    if (navigator.locks && navigator.locks.request) navigator.locks.request("sb-notify", run);
    else run();
  }

  function sweepMarks() {
    try {
      const now = Date.now();
      for (let i = localStorage.length - 1; i >= 0; i--) {
        const k = localStorage.key(i);
        if (k && k.indexOf("sb-notified-") === 0 && now - Number(localStorage.getItem(k)) > 600000) localStorage.removeItem(k);
      }
    } catch (e) { /* nothing to tidy */ }
  }

  async function unread(id) {
    try {
      const res = await fetch("/api/v1/conversations/" + id, { credentials: "same-origin" });
      if (!res.ok) return false;
      const c = await res.json();
      return !!c.unread;
    } catch (e) {
      return true;
    }
  }

  const repeating = new Map();
  function repeatUntilRead(id, sound) {
    if (repeating.has(id)) return;
    let n = 0;
    const tick = async function () {
      if (++n > 40 || !(await unread(id))) { repeating.delete(id); return; }
      play(sound);
      repeating.set(id, setTimeout(tick, 15000));
    };
    repeating.set(id, setTimeout(tick, 15000));
  }

  function notify(f) {
    if (!prefs || !prefs.notifications) return;
    const a = prefs.notifications[f.notify];
    if (!a || !a.on) return;
    const d = f.data || {};
    const convID = f.type.indexOf("message.") === 0 ? d.conversation_id : d.id;
    if (f.notify === "assigned" && actedOn(convID)) return;
    if (convID && convID === openConversation() && inFront()) return; // already looking at it
    once(f.seq, function () {
      if (a.sound && (a.sound_when === "always" || !inFront())) {
        play(a.sound);
        if (a.repeat === "until_read" && convID) repeatUntilRead(convID, a.sound);
      }
      if (a.popup && !inFront() && "Notification" in window && Notification.permission === "granted") {
        let text = "";
        if (f.type === "message.created") text = d.text || t("A file");
        else if (d.contact) text = d.contact.name || d.contact.email || d.contact.phone || "";
        const n = new Notification(titles[f.notify], { body: text, tag: "sb-conversation-" + convID });
        n.onclick = function () {
          window.focus();
          if (convID) location.assign("/inbox/conversations/" + convID);
          n.close();
        };
      }
    });
  }

  // ---- Live events -------------------------------------------------------

  document.addEventListener("sb:event", function (e) {
    const f = e.detail;
    if (!f) return;
    const d = f.data || {};
    switch (f.type) {
      case "status.changed":
        showStatus(d.status);
        break;
      case "profile.changed":
        showProfile(d);
        break;
      case "preferences.changed":
        applyPrefs(d);
        break;
    }
    if (f.notify) notify(f);
  });

  // ---- The notifications page -----------------------------------------------

  const notifyForm = document.querySelector(".notify-form");
  if (notifyForm) {
    notifyForm.addEventListener("click", function (e) {
      const btn = e.target.closest(".play-sound");
      if (!btn) return;
      const sel = notifyForm.querySelector('select[name="' + btn.dataset.trigger + '.sound"]');
      if (sel && sel.value) play(sel.value);
    });
    const state = document.getElementById("popup-state");
    const showPermission = function () {
      if (!state) return;
      state.hidden = false;
      state.classList.remove("blocked");
      if (!("Notification" in window)) {
        state.textContent = t("This browser cannot show pop-ups.");
        state.classList.add("blocked");
      } else if (Notification.permission === "denied") {
        state.textContent = t("Pop-ups are blocked for Switchboard in this browser. Allow notifications in the site settings (the icon left of the address), then reload the page.");
        state.classList.add("blocked");
      } else if (Notification.permission === "granted") {
        state.textContent = t("This browser may show pop-ups.");
      } else {
        state.textContent = t("Ticking a pop-up asks this browser for permission.");
      }
    };
    showPermission();
    notifyForm.addEventListener("change", function (e) {
      const box = e.target;
      if (!box.classList || !box.classList.contains("popup-toggle") || !box.checked) return;
      if (!("Notification" in window)) { showPermission(); return; }
      if (Notification.permission === "default") {
        Notification.requestPermission().then(showPermission, showPermission);
      } else {
        showPermission();
      }
    });
  }

  sweepMarks();
  if (prefs) applyPrefs(prefs);
})();
