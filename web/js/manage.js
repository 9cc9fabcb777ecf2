// Acting on the explorer's selection: delete (confirm, then Undo for a while), move to another
// project of the same source, add or remove tags. Each answer is shown; the grid follows.
import { $, api, el, on, projectPath, say, sourceParam, state } from "./api.js";
import { dropPaths, itemsAt, reload, updateTags } from "./explorer.js";
import { loadProjects } from "./projects.js";

const UNDO_MS = 10_000;
const NAMES_SHOWN = 5;

function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** " · 2 failed" when the answer lists per-file errors, else "". */
function failures(answer) {
  const n = (answer.errors || []).length;
  return n ? ` · ${n} failed` : "";
}

/** `POST /api/projects/{p}/media/{action}` in the project's source. */
function act(project, source, action, body) {
  return api(projectPath(project, `/media/${action}`), {
    method: "POST",
    body,
    params: { source: sourceParam(source) },
  });
}

// ---- toast (one at a time; it stays while hovered or focused) ----

let toastTimer = 0;

function hideToast() {
  clearTimeout(toastTimer);
  const toast = $("toast");
  const hadFocus = toast.contains(document.activeElement);
  toast.hidden = true;
  if (hadFocus) $("explorer").focus({ preventScroll: true });
}

function armToast() {
  clearTimeout(toastTimer);
  toastTimer = setTimeout(hideToast, UNDO_MS);
}

/** Show `text`; with `action` ({label, run}) a button runs it once. */
function toast(text, tone = "", action = null) {
  $("toast-text").textContent = text;
  $("toast").className = `toast ${tone}`.trim();
  const button = $("toast-action");
  button.hidden = !action;
  button.disabled = false;
  button.textContent = action ? action.label : "";
  button.onclick = action
    ? () => {
        button.disabled = true;
        hideToast();
        action.run();
      }
    : null;
  $("toast").hidden = false;
  armToast();
}

// ---- delete and undo ----

function askDelete() {
  const paths = [...state.selection];
  if (!paths.length) return;
  $("delete-count").textContent = plural(paths.length, "item");
  const names = itemsAt(paths).map((item) => item.name);
  const shown = names.slice(0, NAMES_SHOWN).map((name) => el("li", {}, name));
  if (names.length > NAMES_SHOWN) shown.push(el("li", { class: "muted" }, `and ${names.length - NAMES_SHOWN} more`));
  $("delete-names").replaceChildren(...shown);
  $("delete-form").dataset.paths = JSON.stringify(paths);
  $("delete-dialog").returnValue = "";
  $("delete-dialog").showModal();
}

async function doDelete() {
  const paths = JSON.parse($("delete-form").dataset.paths || "[]");
  const { project, source } = state;
  try {
    const answer = await act(project, source, "delete", { relative_paths: paths });
    const gone = answer.removed || [];
    dropPaths([...gone, ...(answer.missing || [])]);
    const missing = answer.missing && answer.missing.length ? ` · ${answer.missing.length} already gone` : "";
    toast(
      `Deleted ${plural(gone.length, "item")} from ${project}${missing}${failures(answer)}.`,
      failures(answer) ? "warn" : "",
      gone.length ? { label: "Undo", run: () => undoDelete(project, source, gone) } : null,
    );
    if (gone.length) $("toast-action").focus({ preventScroll: true }); // the cards holding focus are gone
    loadProjects(); // counts
  } catch (error) {
    say("explorer-message", `Not deleted: ${error.message}`, "bad");
  }
}

async function undoDelete(project, source, paths) {
  try {
    const answer = await act(project, source, "restore", { relative_paths: paths });
    const back = (answer.restored || []).length;
    const missing = answer.missing && answer.missing.length ? `; ${answer.missing.length} no longer in the trash` : "";
    toast(`Restored ${plural(back, "item")} to ${project}${missing}${failures(answer)}.`, missing || failures(answer) ? "warn" : "ok");
  } catch (error) {
    toast(`Could not restore: ${error.message}`, "bad");
  }
  if (project === state.project && source === state.source) reload();
  loadProjects();
}

// ---- move ----

function askMove() {
  const paths = [...state.selection];
  if (!paths.length) return;
  const others = state.projects.filter((p) => p.name !== state.project);
  $("move-count").textContent = plural(paths.length, "item");
  $("move-from").textContent = state.project;
  $("move-target").replaceChildren(
    ...(others.length
      ? others.map((p) => el("option", { value: p.name }, p.source_accessible === false ? `${p.name} (offline)` : p.name))
      : [el("option", { value: "" }, "No other project in this source")]),
  );
  $("move-target").disabled = !others.length;
  $("move-confirm").disabled = !others.length;
  $("move-dialog").showModal();
  $("move-target").focus();
}

async function doMove(event) {
  event.preventDefault();
  const paths = [...state.selection];
  const target = $("move-target").value;
  const { project, source } = state;
  $("move-dialog").close();
  if (!target || !paths.length) return;
  try {
    const answer = await act(project, source, "move", {
      relative_paths: paths,
      target_project: target,
      target_source: source,
    });
    const moved = answer.moved || [];
    const duplicates = answer.duplicates || [];
    const missing = answer.missing || [];
    dropPaths([...moved.map((m) => m.from), ...duplicates]);
    if (project === state.project && source === state.source) await reload(); // the listing has the last word
    loadProjects();
    say(
      "explorer-message",
      `Moved ${moved.length} to ${answer.target_project || target} · ${duplicates.length} duplicate${duplicates.length === 1 ? "" : "s"} · ${missing.length} missing${failures(answer)}.`,
      duplicates.length || missing.length || failures(answer) ? "warn" : "ok",
    );
  } catch (error) {
    say("explorer-message", `Not moved: ${error.message}`, "bad");
  }
}

// ---- tags ----

function parseTags(text) {
  return [...new Set(text.split(",").map((t) => t.trim().replace(/\s+/g, " ").toLowerCase()).filter(Boolean))];
}

function askTags() {
  const paths = [...state.selection];
  if (!paths.length) return;
  const tally = new Map();
  for (const item of itemsAt(paths)) for (const tag of item.tags || []) tally.set(tag, (tally.get(tag) || 0) + 1);
  $("tags-count").textContent = plural(paths.length, "item");
  $("tags-current").textContent = tally.size
    ? `On the selection now: ${[...tally].map(([tag, n]) => (n === paths.length ? tag : `${tag} (${n})`)).join(", ")}`
    : "No tags on the selection yet.";
  $("tags-input").value = "";
  $("tags-dialog").showModal();
  $("tags-input").focus();
}

async function doTags(event) {
  event.preventDefault();
  const tags = parseTags($("tags-input").value);
  if (!tags.length) {
    $("tags-input").setCustomValidity("Type at least one tag.");
    $("tags-input").reportValidity();
    return;
  }
  const remove = event.submitter && event.submitter.value === "remove";
  const paths = [...state.selection];
  const { project, source } = state;
  $("tags-dialog").close();
  try {
    const answer = await act(project, source, "tags", {
      relative_paths: paths,
      [remove ? "remove_tags" : "add_tags"]: tags,
    });
    const updated = answer.updated || [];
    if (project === state.project && source === state.source) {
      updateTags(updated);
      if ($("tag-filter").value.trim()) await reload(); // items may have left or joined the filter
    }
    say(
      "explorer-message",
      `${remove ? "Removed" : "Added"} ${tags.join(", ")} ${remove ? "from" : "to"} ${plural(updated.length, "item")}` +
        `${answer.missing && answer.missing.length ? ` · ${answer.missing.length} missing` : ""}.`,
      "ok",
    );
  } catch (error) {
    say("explorer-message", `Tags not changed: ${error.message}`, "bad");
  }
}

export function initManage() {
  $("delete-selection").addEventListener("click", askDelete);
  $("delete-dialog").addEventListener("close", () => {
    if ($("delete-dialog").returnValue === "delete") doDelete();
  });
  $("move-selection").addEventListener("click", askMove);
  $("move-form").addEventListener("submit", doMove);
  $("tag-selection").addEventListener("click", askTags);
  $("tags-form").addEventListener("submit", doTags);
  $("tags-input").addEventListener("input", () => $("tags-input").setCustomValidity(""));
  for (const button of document.querySelectorAll("dialog.sheet [data-close]")) {
    button.addEventListener("click", () => button.closest("dialog").close());
  }
  $("toast-close").addEventListener("click", hideToast);
  for (const name of ["focusin", "pointerenter"]) $("toast").addEventListener(name, () => clearTimeout(toastTimer));
  for (const name of ["focusout", "pointerleave"]) $("toast").addEventListener(name, armToast);
  on("selection", (selection) => {
    for (const id of ["delete-selection", "move-selection", "tag-selection"]) $(id).disabled = !selection.size || !state.project;
  });
}
