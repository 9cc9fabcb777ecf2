// Talking to the media-sync API, the page's shared state, and small DOM/format helpers.

/** An error answer from the API: `{detail, error, status_code}`. */
export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.detail) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

/** Query string from an object, skipping empty values ("" / null / undefined). */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== "" && value !== null && value !== undefined) search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

// Called when the API answers 401 (a token is set on the server and this browser has no login
// cookie); resolves once the user has logged in. login.js installs it.
let unauthorized = null;

export function onUnauthorized(handler) {
  unauthorized = handler;
}

async function send(path, { method = "GET", body, params, signal } = {}) {
  const init = { method, signal, headers: { Accept: "application/json" }, credentials: "same-origin" };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(path + query(params), init);
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { detail: text.slice(0, 300) };
  }
  return { response, data };
}

/** JSON request to the same origin; throws ApiError for non-2xx answers. A 401 shows the login
 * form, waits for the login, then sends the request once more. */
export async function api(path, options = {}) {
  let { response, data } = await send(path, options);
  if (response.status === 401 && unauthorized) {
    await unauthorized();
    ({ response, data } = await send(path, options));
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/** `?source=` value for project endpoints: omitted for the default source. */
export function sourceParam(source) {
  return source && source !== "primary" ? source : "";
}

export function projectPath(project, suffix = "") {
  return `/api/projects/${encodeURIComponent(project)}${suffix}`;
}

// ---- shared state with change notifications ----

export const bus = new EventTarget();

export const state = {
  source: "primary",
  project: "",
  health: null,
  projects: [],
  selection: new Set(),
  tokenRequired: false, // the server has MEDIA_SYNC_API_TOKEN set (from /api/login)
};

export function emit(name, detail) {
  bus.dispatchEvent(new CustomEvent(name, { detail }));
}

export function on(name, handler) {
  bus.addEventListener(name, (event) => handler(event.detail));
}

const STORE_KEY = "media-sync.selection";

export function remember(values) {
  try {
    localStorage.setItem(STORE_KEY, JSON.stringify(values));
  } catch {
    /* private mode or storage disabled: the URL hash still carries the choice */
  }
}

export function recall() {
  try {
    return JSON.parse(localStorage.getItem(STORE_KEY) || "{}") || {};
  } catch {
    return {};
  }
}

// ---- DOM helpers ----

export const $ = (id) => document.getElementById(id);

/** Create an element: el("a", {href, class: "x", onclick}, "text", child). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function say(id, text, tone = "") {
  const node = $(id);
  node.textContent = text;
  node.className = `message ${tone}`.trim();
}

export function debounce(fn, ms) {
  let timer = 0;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

// ---- formatting ----

export function bytes(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return "?";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 || value >= 100 ? 0 : 1)} ${units[unit]}`;
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "";
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
}

export function when(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString();
}

/** Copy text; falls back to a selected textarea where the Clipboard API is missing (plain http). */
export async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      /* permission refused: fall through */
    }
  }
  const area = el("textarea", { class: "visually-hidden", "aria-hidden": "true" });
  area.value = text;
  document.body.append(area);
  area.select();
  let ok = false;
  try {
    ok = document.execCommand("copy");
  } catch {
    ok = false;
  }
  area.remove();
  return ok;
}

/** A "Copy" button that copies the text returned by getText and says so. */
export function copyButton(getText, label = "Copy") {
  const button = el("button", { type: "button" }, label);
  button.addEventListener("click", async () => {
    const ok = await copyText(getText());
    button.textContent = ok ? "Copied" : "Select and copy by hand";
    setTimeout(() => (button.textContent = label), 1500);
  });
  return button;
}
