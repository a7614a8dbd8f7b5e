// Typing indicators in the agent workspace: "Visitor is typing…" under the
// open conversation while the customer writes (signals on the live
// connection, which app.js hands on as sb:event), and the agent's own
// typing told to the customer. Nothing of it is stored: a signal shows for
// a few seconds unless another one comes, and goes when the message does.
(function () {
  "use strict";

  let strings = {};
  try { strings = JSON.parse(document.getElementById("sb-strings").textContent); } catch (e) { /* English */ }
  function t(s) { return strings[s] || s; }

  // SHOW_FOR is how long one signal shows; signals come at most every 3 s
  // while the customer types.
  const SHOW_FOR = 6000;
  // EVERY is how often the agent's typing is told: a little over the 3 s
  // the server allows, so that a signal is not dropped for arriving early.
  const EVERY = 3500;

  function openConversation() {
    const el = document.getElementById("conv");
    return el ? Number(el.dataset.conversation) : 0;
  }

  // ---- The customer's typing

  let hideTimer = 0;

  function indicator(make) {
    let el = document.getElementById("typing-indicator");
    if (!el && make) {
      const box = document.getElementById("messages");
      if (!box) return null;
      el = document.createElement("p");
      el.id = "typing-indicator";
      el.className = "typing-indicator";
      el.setAttribute("role", "status");
      el.dataset.conversation = box.dataset.conversation;
      box.after(el);
    }
    return el;
  }

  function show(conv) {
    const el = indicator(true);
    if (!el || Number(el.dataset.conversation) !== conv) return;
    el.textContent = t("Visitor is typing…");
    el.hidden = false;
    clearTimeout(hideTimer);
    hideTimer = setTimeout(hide, SHOW_FOR);
  }

  function hide() {
    clearTimeout(hideTimer);
    const el = indicator(false);
    if (el) el.hidden = true;
  }

  document.addEventListener("sb:event", function (e) {
    const f = e.detail || {};
    const d = f.data || {};
    if (d.conversation_id !== openConversation()) return;
    if (f.type === "typing" && d.from === "customer") show(d.conversation_id);
    else if (f.type === "message.created" && d.direction === "inbound") hide();
  });

  // ---- The agent's typing

  let lastSent = 0;
  document.addEventListener("input", function (e) {
    const el = e.target;
    if (!el.matches || !el.matches("#composer textarea[name=text]") || el.value.trim() === "") return;
    const conv = Number(el.form.dataset.conversation);
    const now = Date.now();
    if (!conv || now - lastSent < EVERY) return;
    lastSent = now;
    fetch("/api/v1/conversations/" + conv + "/typing", { method: "POST", credentials: "same-origin" }).catch(function () {
      // A lost signal does not matter.
    });
  });
})();
