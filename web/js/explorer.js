// The explorer grid: cursor-paginated media, windowed (only visible rows are in the DOM), with
// thumbnails, tags, filters, selection and live refresh.
import { $, api, bytes, debounce, duration, el, emit, projectPath, say, sourceParam, state } from "./api.js";
import { openViewer, updateViewer } from "./viewer.js";
import { attachScrub } from "./scrub.js";

const PAGE = 200;
const GAP = 10; // px, matches .grid gap
const CAPTION = 52; // px, card caption height (two lines)
const MIN_CARD = 150; // px, smallest card width on a desktop
const BUFFER_ROWS = 3; // rows rendered above and below the visible ones
const ICONS = {
  video: "M8 5v14l11-7z",
  image: "M21 19V5a2 2 0 0 0-2-2H5a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h14a2 2 0 0 0 2-2zM8.5 13.5l2.5 3 3.5-4.5 4.5 6H5l3.5-4.5z",
  audio: "M12 3v10.55A4 4 0 1 0 14 17V7h4V3h-6z",
};

const view = {
  items: [], // every loaded item, in server order
  byPath: new Map(), // relative_path -> item
  rendered: new Map(), // relative_path -> <li> currently in the DOM
  stale: new Set(), // paths whose thumbnail must be re-requested when next drawn
  cursor: null,
  pages: 0,
  total: 0,
  loading: false,
  generation: 0,
  controller: null,
  layout: { cols: 1, rowHeight: 200, cardHeight: 190 },
  frame: 0,
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
function picture(item) {
  if (!item.thumb_url) return icon(item.kind);
  const bust = view.stale.delete(item.relative_path);
  const img = el("img", { loading: "lazy", decoding: "async", alt: "", src: bust ? withBust(item.thumb_url) : item.thumb_url });
  img.addEventListener("error", () => {
    const card = img.closest(".card");
    if (card) card.dataset.thumb = "missing";
    view.stale.add(item.relative_path); // the next draw asks again, past any cached failure
    img.replaceWith(icon(item.kind));
  });
  img.addEventListener("load", () => {
    const card = img.closest(".card");
    if (card) card.dataset.thumb = "ok";
  });
  return img;
}

/** The manual tags, as chips over the bottom of the thumbnail (derived ones are in the viewer). */
function tagChips(item) {
  const tags = item.tags || [];
  return el(
    "ul",
    { class: "tags", "aria-label": `Tags of ${item.name}`, hidden: !tags.length },
    ...tags.map((tag) => el("li", {}, tag)),
  );
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

let serial = 0;

function card(item) {
  serial += 1;
  const id = `pick-${serial}`;
  const path = item.relative_path;
  const box = el("input", { type: "checkbox", id, checked: state.selection.has(path) });
  box.addEventListener("change", () => select(path, box.checked));
  const node = el(
    "li",
    { class: "card", dataset: { path, sha: item.sha256, kind: item.kind || "", tags: (item.tags || []).join(",") } },
    el(
      "button",
      { type: "button", class: "open", "aria-label": `Open ${item.name}`, onclick: () => openViewer(view.byPath.get(path) || item) },
      picture(item),
    ),
    el("label", { class: "pick", for: id }, box, el("span", { class: "visually-hidden" }, `Select ${item.name}`)),
    tagChips(item),
    caption(item),
  );
  node.classList.toggle("selected", box.checked);
  if (item.kind === "video") attachScrub(node.querySelector(".open"), item); // frames on hover
  return node;
}

/** Redraw a drawn card's caption and tags in place: focus and checkbox survive. */
function updateCard(node, item) {
  node.querySelector(".caption").replaceWith(caption(item));
  node.querySelector(".tags").replaceWith(tagChips(item));
  node.dataset.tags = (item.tags || []).join(",");
}

function select(path, on) {
  if (on) state.selection.add(path);
  else state.selection.delete(path);
  const node = view.rendered.get(path);
  if (node) {
    node.classList.toggle("selected", on);
    node.querySelector("input[type=checkbox]").checked = on;
  }
  emit("selection", state.selection);
}

// ---- windowing ----

function measure() {
  const width = $("scroller").clientWidth - 4;
  const cols = width < 420 ? 2 : Math.max(1, Math.floor((width + GAP) / (MIN_CARD + GAP)));
  const colWidth = (width - GAP * (cols - 1)) / cols;
  const cardHeight = Math.round((colWidth * 10) / 16 + CAPTION);
  view.layout = { cols, cardHeight, rowHeight: cardHeight + GAP };
  const grid = $("grid");
  grid.style.gridTemplateColumns = `repeat(${cols}, minmax(0, 1fr))`;
  grid.style.setProperty("--card-height", `${cardHeight}px`);
}

/** The scroll height of every loaded row, set as soon as items arrive (the drawing waits a frame). */
function sizeSpacer() {
  const { cols, rowHeight } = view.layout;
  const rows = Math.ceil(view.items.length / cols);
  $("spacer").style.height = `${Math.max(0, rows * rowHeight - GAP)}px`;
  return rows;
}

/** Draw the rows in (and near) the scroller's view; nodes already drawn are kept. */
function render() {
  view.frame = 0;
  const scroller = $("scroller");
  const { cols, rowHeight } = view.layout;
  const rows = sizeSpacer();
  const first = Math.max(0, Math.floor(scroller.scrollTop / rowHeight) - BUFFER_ROWS);
  const last = Math.min(rows, Math.ceil((scroller.scrollTop + scroller.clientHeight) / rowHeight) + BUFFER_ROWS);
  const slice = view.items.slice(first * cols, last * cols);
  const keep = new Set(slice.map((item) => item.relative_path));
  for (const [path, node] of view.rendered) {
    if (!keep.has(path)) {
      if (node.contains(document.activeElement)) continue; // never pull focus out from under a keyboard user
      node.remove();
      view.rendered.delete(path);
    }
  }
  const grid = $("grid");
  grid.style.transform = `translateY(${first * rowHeight}px)`;
  let previous = null;
  for (const item of slice) {
    let node = view.rendered.get(item.relative_path);
    if (!node) {
      node = card(item);
      view.rendered.set(item.relative_path, node);
    }
    const want = previous ? previous.nextSibling : grid.firstChild;
    if (want !== node) grid.insertBefore(node, want);
    previous = node;
  }
  while (previous && previous.nextSibling) previous.nextSibling.remove(); // a kept focused card
  if (view.cursor && last * cols > view.items.length - cols * 6) more();
}

function schedule() {
  if (!view.frame) view.frame = requestAnimationFrame(render);
}

function counts() {
  const grid = $("grid");
  sizeSpacer();
  grid.dataset.loaded = String(view.items.length);
  grid.dataset.total = String(view.total);
  $("explorer-count").textContent = state.project
    ? `${view.total} item${view.total === 1 ? "" : "s"}${view.items.length < view.total ? `, ${view.items.length} loaded` : ""}`
    : "";
  $("load-more").hidden = !view.cursor;
  const known = new Set(view.items.flatMap((item) => [...(item.tags || []), ...(item.derived_tags || [])]));
  $("tag-options").replaceChildren(...[...known].sort().map((tag) => el("option", { value: tag })));
}

function filters() {
  return {
    source: sourceParam(state.source),
    kind: $("kind-filter").value,
    q: $("search").value.trim(),
    tag: $("tag-filter").value.trim().toLowerCase(),
    sort: $("sort").value,
    order: $("order").value,
    limit: PAGE,
  };
}

function setItems(items) {
  view.items = items;
  view.byPath = new Map(items.map((item) => [item.relative_path, item]));
}

/** Start over: first page with the current filters. */
export async function reload() {
  view.generation += 1;
  const generation = view.generation;
  if (view.controller) view.controller.abort();
  view.loading = false;
  setItems([]);
  view.rendered.clear();
  view.cursor = null;
  view.pages = 0;
  view.total = 0;
  $("grid").replaceChildren();
  $("scroller").scrollTop = 0;
  say("explorer-message", state.project ? "Loading…" : "Pick a project to see its media.");
  counts();
  schedule();
  if (!state.project) return;
  await more(generation);
}

async function more(generation = view.generation) {
  if (view.loading || !state.project) return;
  if (view.pages > 0 && !view.cursor) return;
  view.loading = true;
  view.controller = new AbortController();
  try {
    const data = await api(projectPath(state.project, "/media"), {
      params: { ...filters(), cursor: view.cursor },
      signal: view.controller.signal,
    });
    if (generation !== view.generation) return;
    const fresh = data.media.filter((item) => !view.byPath.has(item.relative_path));
    for (const item of fresh) view.byPath.set(item.relative_path, item);
    view.items = view.items.concat(fresh);
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
      schedule();
    }
  }
}

/** Re-read the first page and merge it: new files appear on top, changed ones update in place. */
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
  for (const item of data.media) {
    const old = view.byPath.get(item.relative_path);
    const node = view.rendered.get(item.relative_path);
    if (old && node && JSON.stringify(old) !== JSON.stringify(item)) {
      updateCard(node, item);
      if (old.sha256 !== item.sha256 || node.dataset.thumb === "missing") view.stale.add(item.relative_path);
      updateViewer(item);
    }
  }
  const top = new Set(data.media.map((item) => item.relative_path));
  const rest = view.pages <= 1 ? [] : view.items.filter((item) => !top.has(item.relative_path));
  setItems(data.media.concat(rest));
  if (view.pages <= 1) view.cursor = data.next_cursor;
  view.pages = Math.max(view.pages, 1);
  view.total = data.total;
  for (const path of [...view.stale]) refreshThumb(path);
  for (const [path, node] of view.rendered) {
    if (!view.byPath.has(path)) {
      node.remove();
      view.rendered.delete(path);
    }
  }
  say("explorer-message", view.total ? "" : "No media here yet.");
  counts();
  schedule();
}

export const refreshSoon = debounce(refreshTop, 400);

export function refreshThumb(path) {
  const node = view.rendered.get(path);
  const item = view.byPath.get(path);
  view.stale.add(path);
  if (!node || !item || !item.thumb_url) return;
  node.querySelector(".open").replaceChildren(picture(item));
}

export function thumbBySha(sha256, path) {
  if (path && view.byPath.has(path)) return refreshThumb(path);
  for (const item of view.items) if (item.sha256 === sha256) refreshThumb(item.relative_path);
}

/** Take files off the grid (deleted or moved away) without a round trip. */
export function dropPaths(paths) {
  const gone = new Set(paths.filter((path) => view.byPath.has(path)));
  if (!gone.size) return;
  setItems(view.items.filter((item) => !gone.has(item.relative_path)));
  for (const path of gone) {
    const node = view.rendered.get(path);
    if (node) node.remove();
    view.rendered.delete(path);
    state.selection.delete(path);
  }
  view.total = Math.max(0, view.total - gone.size);
  emit("selection", state.selection);
  counts();
  schedule();
}

export function removed(path) {
  dropPaths([path]);
}

/** New tags from `POST .../media/tags` (`updated: [{relative_path, tags: {manual, derived}}]`). */
export function updateTags(updated) {
  for (const entry of updated) {
    const old = view.byPath.get(entry.relative_path);
    if (!old) continue;
    const item = { ...old, tags: entry.tags.manual, derived_tags: entry.tags.derived };
    view.byPath.set(item.relative_path, item);
    view.items[view.items.indexOf(old)] = item;
    const node = view.rendered.get(item.relative_path);
    if (node) updateCard(node, item);
    updateViewer(item);
  }
  counts();
}

export function itemsAt(paths) {
  return paths.map((path) => view.byPath.get(path)).filter(Boolean);
}

export function selectShown() {
  for (const item of view.items) select(item.relative_path, true);
}

export function clearSelection() {
  for (const path of [...state.selection]) select(path, false);
}

export function initExplorer() {
  for (const id of ["kind-filter", "sort", "order"]) $(id).addEventListener("change", () => reload());
  $("search").addEventListener("input", debounce(() => reload(), 300));
  $("tag-filter").addEventListener("input", debounce(() => reload(), 300));
  $("load-more").addEventListener("click", () => more());
  $("scroller").addEventListener("scroll", schedule, { passive: true });
  new ResizeObserver(() => {
    measure();
    schedule();
  }).observe($("scroller"));
  measure();
}
