// The explorer grid: cursor-paginated media with thumbnails, filters, selection and live refresh.
import { $, api, bytes, debounce, duration, el, emit, projectPath, say, sourceParam, state } from "./api.js";
import { openViewer, updateViewer } from "./viewer.js";

const PAGE = 200;
const ICONS = {
  video: "M8 5v14l11-7z",
  image: "M21 19V5a2 2 0 0 0-2-2H5a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h14a2 2 0 0 0 2-2zM8.5 13.5l2.5 3 3.5-4.5 4.5 6H5l3.5-4.5z",
  audio: "M12 3v10.55A4 4 0 1 0 14 17V7h4V3h-6z",
};

const view = {
  items: new Map(), // relative_path -> item
  cards: new Map(), // relative_path -> <li>
  cursor: null,
  pages: 0,
  total: 0,
  loading: false,
  generation: 0,
  controller: null,
};

function icon(kind) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "40");
  svg.setAttribute("height", "40");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("class", "icon");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", ICONS[kind] || ICONS.image);
  path.setAttribute("fill", "currentColor");
  svg.append(path);
  return svg;
}

function withBust(url) {
  const parsed = new URL(url, location.href);
  parsed.searchParams.set("v", String(Date.now()));
  return parsed.href;
}

/** The thumbnail, or the kind icon when there is none (audio) or it fails to load (not made yet). */
function picture(item, bust = false) {
  if (!item.thumb_url) return icon(item.kind);
  const img = el("img", { loading: "lazy", decoding: "async", alt: "", src: bust ? withBust(item.thumb_url) : item.thumb_url });
  img.addEventListener("error", () => {
    const card = img.closest(".card");
    if (card) card.dataset.thumb = "missing";
    img.replaceWith(icon(item.kind));
  });
  img.addEventListener("load", () => {
    const card = img.closest(".card");
    if (card) card.dataset.thumb = "ok";
  });
  return img;
}

function caption(item) {
  const extra = item.kind === "image" && item.width ? `${item.width}×${item.height}` : duration(item.duration);
  return el(
    "div",
    { class: "caption" },
    el("div", { class: "name", title: item.relative_path }, item.name),
    el("div", { class: "muted" }, [item.kind, bytes(item.size), extra].filter(Boolean).join(" · ")),
  );
}

function card(item) {
  const id = `pick-${item.sha256.slice(0, 12)}-${view.cards.size}`;
  const box = el("input", { type: "checkbox", id, checked: state.selection.has(item.relative_path) });
  box.addEventListener("change", () => select(item.relative_path, box.checked));
  const node = el(
    "li",
    { class: "card", dataset: { path: item.relative_path, sha: item.sha256, kind: item.kind || "" } },
    el(
      "button",
      { type: "button", class: "open", "aria-label": `Open ${item.name}`, onclick: () => openViewer(view.items.get(item.relative_path) || item) },
      picture(item),
    ),
    el("label", { class: "pick", for: id }, box, el("span", { class: "visually-hidden" }, `Select ${item.name}`)),
    caption(item),
  );
  node.classList.toggle("selected", box.checked);
  return node;
}

function select(path, on) {
  if (on) state.selection.add(path);
  else state.selection.delete(path);
  const node = view.cards.get(path);
  if (node) {
    node.classList.toggle("selected", on);
    node.querySelector("input[type=checkbox]").checked = on;
  }
  emit("selection", state.selection);
}

function counts() {
  $("explorer-count").textContent = state.project ? `${view.total} item${view.total === 1 ? "" : "s"}, ${view.cards.size} shown` : "";
  $("load-more").hidden = !view.cursor;
}

function filters() {
  return {
    source: sourceParam(state.source),
    kind: $("kind-filter").value,
    q: $("search").value.trim(),
    sort: $("sort").value,
    order: $("order").value,
    limit: PAGE,
  };
}

async function fetchPage(cursor) {
  if (view.controller) view.controller.abort();
  view.controller = new AbortController();
  return api(projectPath(state.project, "/media"), { params: { ...filters(), cursor }, signal: view.controller.signal });
}

function place(item, after) {
  const old = view.items.get(item.relative_path);
  let node = view.cards.get(item.relative_path);
  view.items.set(item.relative_path, item);
  if (!node) {
    node = card(item);
    view.cards.set(item.relative_path, node);
  } else if (old && JSON.stringify(old) !== JSON.stringify(item)) {
    // Update in place so focus and checkbox state survive a live refresh.
    node.querySelector(".caption").replaceWith(caption(item));
    node.dataset.kind = item.kind || "";
    if (old.sha256 !== item.sha256 || node.dataset.thumb === "missing") refreshThumb(item.relative_path);
    updateViewer(item);
  }
  const grid = $("grid");
  const want = after ? after.nextSibling : grid.firstChild;
  if (want !== node) grid.insertBefore(node, want);
  return node;
}

function drop(path) {
  const node = view.cards.get(path);
  if (node) node.remove();
  view.cards.delete(path);
  view.items.delete(path);
  if (state.selection.delete(path)) emit("selection", state.selection);
}

/** Start over: first page with the current filters. */
export async function reload() {
  view.generation += 1;
  const generation = view.generation;
  if (view.controller) view.controller.abort();
  view.loading = false;
  view.items.clear();
  view.cards.clear();
  view.cursor = null;
  view.pages = 0;
  view.total = 0;
  $("grid").replaceChildren();
  say("explorer-message", state.project ? "Loading…" : "Pick a project to see its media.");
  counts();
  if (!state.project) return;
  await more(generation);
}

async function more(generation = view.generation) {
  if (view.loading || !state.project) return;
  if (view.pages > 0 && !view.cursor) return;
  view.loading = true;
  try {
    const data = await fetchPage(view.cursor);
    if (generation !== view.generation) return;
    const fragment = document.createDocumentFragment();
    for (const item of data.items) {
      if (view.cards.has(item.relative_path)) continue;
      const node = card(item);
      view.items.set(item.relative_path, item);
      view.cards.set(item.relative_path, node);
      fragment.append(node);
    }
    $("grid").append(fragment);
    view.cursor = data.next_cursor;
    view.total = data.total;
    view.pages += 1;
    say("explorer-message", view.total ? "" : "No media here yet: upload some, or copy files into ingest/originals/.");
  } catch (error) {
    if (error.name !== "AbortError") say("explorer-message", `Could not list media: ${error.message}`, "bad");
  } finally {
    if (generation === view.generation) {
      view.loading = false;
      counts();
    }
  }
}

/** Re-read the first page and merge it (new files appear on top; nothing else is lost). */
async function refreshTop() {
  if (!state.project || view.loading) return;
  const generation = view.generation;
  let data;
  try {
    data = await api(projectPath(state.project, "/media"), { params: filters() });
  } catch {
    return;
  }
  if (generation !== view.generation) return;
  let after = null;
  const fresh = new Set();
  for (const item of data.items) {
    after = place(item, after);
    fresh.add(item.relative_path);
  }
  if (view.pages <= 1) {
    for (const path of [...view.cards.keys()]) if (!fresh.has(path)) drop(path);
    view.cursor = data.next_cursor;
    view.pages = 1;
  }
  view.total = data.total;
  say("explorer-message", view.total ? "" : "No media here yet.");
  counts();
}

export const refreshSoon = debounce(refreshTop, 400);

export function refreshThumb(path) {
  const node = view.cards.get(path);
  const item = view.items.get(path);
  if (!node || !item || !item.thumb_url) return;
  const button = node.querySelector(".open");
  button.replaceChildren(picture(item, true));
}

export function thumbBySha(sha256, path) {
  if (path && view.cards.has(path)) return refreshThumb(path);
  for (const [key, item] of view.items) if (item.sha256 === sha256) refreshThumb(key);
}

export function removed(path) {
  drop(path);
  view.total = Math.max(0, view.total - 1);
  counts();
}

export function selectShown() {
  for (const path of view.cards.keys()) select(path, true);
}

export function clearSelection() {
  for (const path of [...state.selection]) select(path, false);
}

export function initExplorer() {
  for (const id of ["kind-filter", "sort", "order"]) $(id).addEventListener("change", () => reload());
  $("search").addEventListener("input", debounce(() => reload(), 300));
  $("load-more").addEventListener("click", () => more());
  const observer = new IntersectionObserver(
    (entries) => {
      if (entries.some((entry) => entry.isIntersecting)) more();
    },
    { rootMargin: "800px 0px" },
  );
  observer.observe($("load-more"));
}
