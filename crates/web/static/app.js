// Airlock's approval page: passkey ceremonies, and the live list. No framework, no build step.
"use strict";

const b64url = {
  encode(buffer) {
    const bytes = new Uint8Array(buffer);
    let s = "";
    for (const b of bytes) s += String.fromCharCode(b);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  },
  decode(text) {
    const s = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
    return Uint8Array.from(s, (c) => c.charCodeAt(0));
  },
};

function say(text, isError) {
  const status = document.getElementById("status");
  if (!status) return;
  status.textContent = text;
  status.className = isError ? "error" : "";
}

async function post(url, body) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    credentials: "same-origin",
    body: JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({ error: "Airlock answered " + response.status }));
  if (!response.ok) throw new Error(answer.error || "refused");
  return answer;
}

async function signIn(form) {
  if (!window.PublicKeyCredential) throw new Error("This browser has no passkeys.");
  const operator = form.querySelector("#operator").value.trim();
  const options = (await post("/login/options", { operator: operator || null })).publicKey;
  options.challenge = b64url.decode(options.challenge);
  options.allowCredentials = options.allowCredentials.map((c) => ({ ...c, id: b64url.decode(c.id) }));
  say("Confirm with your passkey…");
  const credential = await navigator.credentials.get({ publicKey: options });
  const r = credential.response;
  const done = await post("/login", {
    id: credential.id,
    clientDataJSON: b64url.encode(r.clientDataJSON),
    authenticatorData: b64url.encode(r.authenticatorData),
    signature: b64url.encode(r.signature),
    next: form.dataset.next,
  });
  location.assign(done.next);
}

async function enroll(form) {
  if (!window.PublicKeyCredential) throw new Error("This browser has no passkeys.");
  const operator = form.querySelector("#operator").value.trim();
  const code = form.querySelector("#code").value.trim();
  const options = (await post("/enroll/options", { operator, code })).publicKey;
  options.challenge = b64url.decode(options.challenge);
  options.user.id = b64url.decode(options.user.id);
  options.excludeCredentials = options.excludeCredentials.map((c) => ({ ...c, id: b64url.decode(c.id) }));
  say("Create the passkey on your device…");
  const credential = await navigator.credentials.create({ publicKey: options });
  const done = await post("/enroll", {
    id: credential.id,
    clientDataJSON: b64url.encode(credential.response.clientDataJSON),
    attestationObject: b64url.encode(credential.response.attestationObject),
  });
  location.assign(done.next);
}

function ceremony(id, run) {
  const form = document.getElementById(id);
  if (!form) return;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const button = form.querySelector("button");
    button.disabled = true;
    run(form)
      .catch((e) => say(e.message || String(e), true))
      .finally(() => (button.disabled = false));
  });
}

// Held actions, live: every audit event about an action re-reads the list from the server.
function livePending() {
  const list = document.getElementById("pending");
  if (!list) return;
  const live = document.getElementById("live");
  const events = new EventSource("/events");
  let refreshing = false;
  events.addEventListener("action", async (event) => {
    if (refreshing) return;
    refreshing = true;
    try {
      const response = await fetch("/pending.html", { credentials: "same-origin" });
      if (response.status === 401) location.reload();
      if (response.ok) {
        list.innerHTML = await response.text();
        const data = JSON.parse(event.data);
        if (live && data.action_id) live.textContent = "Updated: " + data.kind.replace("action.", "") + " " + data.action_id;
      }
    } finally {
      refreshing = false;
    }
  });
}

// One action: when its state changes elsewhere (another operator, expiry), say so, and reload
// unless a reason is being typed.
function liveAction() {
  const id = document.body.dataset.action;
  if (!id) return;
  const events = new EventSource("/events");
  events.addEventListener("action", (event) => {
    const data = JSON.parse(event.data);
    if (data.action_id !== id) return;
    const typing = Array.from(document.querySelectorAll("textarea")).some((t) => t.value.trim() !== "");
    if (typing) {
      const note = document.getElementById("changed") || document.createElement("p");
      note.id = "changed";
      note.className = "error";
      note.setAttribute("role", "alert");
      note.textContent = "This action changed (" + data.kind.replace("action.", "") + "): reload before deciding.";
      document.getElementById("main").prepend(note);
    } else {
      location.reload();
    }
  });
}

ceremony("signin", signIn);
ceremony("enroll", enroll);
if (document.body.dataset.page === "pending") livePending();
if (document.body.dataset.page === "action") liveAction();
