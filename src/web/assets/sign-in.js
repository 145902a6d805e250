// The sign-in page. With `auth.dev_login` it lists the seeded users (`GET /dev/users`) and
// signs in as one (`POST /dev/token`); otherwise it explains how a host hands over a token.
import { api, config, h, homeOf, main, me, setToken, token } from "./session.js";

const TYPE_LABEL = { venue: "Venue staff", client: "Clients", admin: "Admins", vendor: "Vendors" };

async function goHome() {
  const user = await me();
  const next = new URLSearchParams(location.search).get("next");
  const home = next && next.startsWith("/") && !next.startsWith("//") ? next : homeOf(user);
  if (home) location.href = home;
  else main().replaceChildren(h("section", { class: "card" },
    h("h1", {}, `Signed in as ${user.name}`),
    h("p", {}, "There is no page for your account type yet.")));
}

async function signInAs(email, button) {
  button.disabled = true;
  try {
    const out = await api("/dev/token", { method: "POST", body: { email } });
    setToken(out.token);
    await goHome();
  } catch (e) {
    button.disabled = false;
    status(`Sign-in failed: ${e.message}`, true);
  }
}

function status(text, error = false) {
  const el = document.getElementById("signin-status");
  el.textContent = text;
  el.className = error ? "status error" : "status";
}

async function devLogin() {
  const users = await api("/dev/users");
  const groups = {};
  for (const u of users.data) (groups[u.user_type] ??= []).push(u);
  const sections = ["venue", "client", "admin", "vendor"].filter((t) => groups[t]).map((t) =>
    h("section", { class: "user-group", "aria-labelledby": `group-${t}` },
      h("h2", { id: `group-${t}` }, TYPE_LABEL[t]),
      h("ul", { class: "user-list" }, groups[t].map((u) =>
        h("li", {}, h("button", {
          type: "button", class: "user-button", "data-email": u.email,
          onclick: (ev) => signInAs(u.email, ev.currentTarget),
        }, h("span", { class: "name" }, u.name), h("span", { class: "detail" }, u.detail || u.email)))))));
  main().replaceChildren(h("section", { class: "card signin" },
    h("h1", {}, "Sign in"),
    h("p", {}, "Development sign-in: choose a demo user. (This list exists only while auth.dev_login is on.)"),
    h("p", { id: "signin-status", class: "status", role: "status", "aria-live": "polite" }),
    sections));
}

function hostedLogin() {
  main().replaceChildren(h("section", { class: "card signin" },
    h("h1", {}, "Sign in"),
    h("p", {}, "This page is opened by the platform with your token. Open it from the platform, or append ?token=<your token> to this address once."),
    h("p", { id: "signin-status", class: "status", role: "status" })));
}

(async function start() {
  try {
    if (token()) {
      try { await goHome(); return; } catch { setToken(null); }
    }
    if (config.dev_login) await devLogin();
    else hostedLogin();
  } catch (e) {
    main().replaceChildren(h("p", { class: "error", role: "alert" }, `Cannot load the sign-in page: ${e.message}`));
  }
})();
