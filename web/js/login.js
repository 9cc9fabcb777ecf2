// The login form: shown when the API answers 401, trades the token for an HttpOnly cookie.
import { $, onUnauthorized, say, state } from "./api.js";

let pending = null; // one login at a time, however many requests answered 401

async function postJson(path, body) {
  const response = await fetch(path, {
    method: "POST",
    credentials: "same-origin",
    headers: { Accept: "application/json", "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  return { ok: response.ok, status: response.status, data };
}

/** Show the form and resolve once the server accepted a token (the cookie is then set). */
export function login() {
  if (pending) return pending;
  pending = new Promise((resolve) => {
    const dialog = $("login-dialog");
    const form = $("login-form");
    const input = $("login-token");
    say("login-message", "");
    const submit = async (event) => {
      event.preventDefault();
      const token = input.value.trim();
      if (!token) return;
      $("login-submit").disabled = true;
      say("login-message", "Checking…");
      try {
        const answer = await postJson("/api/login", { token });
        if (answer.ok) {
          form.removeEventListener("submit", submit);
          input.value = "";
          dialog.close();
          showAccess(answer.data);
          pending = null;
          resolve();
          return;
        }
        const detail = answer.status === 401 ? "That token is not valid." : (answer.data && answer.data.detail) || `HTTP ${answer.status}`;
        say("login-message", detail, "bad");
      } catch (error) {
        say("login-message", `Could not reach the server: ${error.message}`, "bad");
      } finally {
        $("login-submit").disabled = false;
      }
    };
    form.addEventListener("submit", submit);
    if (!dialog.open) dialog.showModal();
    input.focus();
  });
  return pending;
}

function showAccess(status) {
  const button = $("logout");
  const loggedIn = Boolean(status && status.token_required && status.access !== "none");
  button.hidden = !loggedIn;
  $("access-note").hidden = !(loggedIn && status.access === "read");
}

/** Ask the server whether a token is needed; log in first when this browser has none. */
export async function ensureLogin() {
  try {
    const response = await fetch("/api/login", { credentials: "same-origin", headers: { Accept: "application/json" } });
    const status = response.ok ? await response.json() : null;
    state.tokenRequired = Boolean(status && status.token_required); // the help recipes say so
    if (status && status.token_required && status.access === "none") await login();
    else showAccess(status);
  } catch {
    /* the server is unreachable: the health pill says so */
  }
}

async function logout() {
  await postJson("/api/logout");
  location.reload();
}

export function initLogin() {
  onUnauthorized(login);
  $("login-dialog").addEventListener("cancel", (event) => event.preventDefault()); // Esc
  $("logout").addEventListener("click", logout);
}
