// Folders in a source root that are not projects (/health "unadopted_folders"): the notice in the
// status sheet, a banner on the first screen, and "Adopt as project" (a dry run, then confirm).
import { $, api, el, emit, say } from "./api.js";

let folders = []; // [{source, folder, media_files, suggested_project}]
const previews = new Map(); // "source/folder" -> the dry run's answer
const keyOf = (f) => `${f.source}/${f.folder}`;

function files(n, capped = false) {
  return `${n}${capped ? "+" : ""} media file${String(n) === "1" && !capped ? "" : "s"}`;
}

function where(f) {
  return `folder ${f.folder}${f.source && f.source !== "primary" ? ` (source ${f.source})` : ""}`;
}

function notice(f) {
  const one = String(f.media_files) === "1" && !f.media_files_capped;
  return `${files(f.media_files, f.media_files_capped)} in ${where(f)} ${one ? "is" : "are"} not in any project`;
}

function actions(f) {
  const preview = previews.get(keyOf(f));
  if (!preview) {
    return [el("button", { type: "button", onclick: () => dryRun(f), "aria-label": `Adopt ${f.folder} as project` }, "Adopt as project")];
  }
  return [
    el("span", { class: "grow", dataset: { preview: preview.project } }, `will become ${preview.project}, ${preview.media_files} file${String(preview.media_files) === "1" ? "" : "s"}`),
    el("button", { type: "button", class: "primary", onclick: () => adopt(f), "aria-label": `Confirm: adopt ${f.folder} as ${preview.project}` }, `Adopt as ${preview.project}`),
    el("button", { type: "button", onclick: () => (previews.delete(keyOf(f)), render()) }, "Cancel"),
  ];
}

function render() {
  $("folders").hidden = !folders.length && !$("folder-message").textContent; // keep "Adopted …" in view
  $("folder-list").replaceChildren(
    ...folders.map((f) =>
      el(
        "li",
        { dataset: { folder: f.folder, source: f.source } },
        el("div", { class: "folder-line" }, el("span", { class: "grow" }, notice(f))),
        el("div", { class: "folder-line" }, ...actions(f)),
      ),
    ),
  );
  const banner = $("unadopted-banner");
  banner.hidden = !folders.length;
  if (!folders.length) return;
  const more = folders.length > 1 ? ` (and ${folders.length - 1} more folder${folders.length > 2 ? "s" : ""})` : "";
  $("unadopted-banner-text").textContent = `${notice(folders[0])}${more}.`;
}

async function dryRun(f) {
  try {
    const answer = await api("/api/folders/adopt", {
      method: "POST",
      body: { source: f.source, folder: f.folder, dry_run: true },
    });
    previews.set(keyOf(f), answer);
    say("folder-message", "");
  } catch (error) {
    say("folder-message", `Cannot adopt ${f.folder}: ${error.message}`, "bad");
  }
  render();
}

async function adopt(f) {
  try {
    const answer = await api("/api/folders/adopt", {
      method: "POST",
      body: { source: f.source, folder: f.folder, dry_run: false },
    });
    folders = folders.filter((g) => keyOf(g) !== keyOf(f));
    say("folder-message", `Adopted ${f.folder} as ${answer.project} (${files(answer.media_files)}).`, "ok");
    emit("adopted", { ...answer, source: f.source });
  } catch (error) {
    const why = error.status === 409 ? "it became a project meanwhile" : error.message;
    say("folder-message", `Not adopted ${f.folder}: ${why}`, "bad");
  }
  previews.delete(keyOf(f));
  render();
}

/** Show the folders /health lists ("unadopted_folders"), or GET /api/folders/unadopted when
 * /health does not carry them; true when there is something to adopt. A server with neither
 * (a 404) shows nothing. */
export async function showFolders(health) {
  let list = health && health.unadopted_folders;
  if (!Array.isArray(list)) {
    try {
      list = (await api("/api/folders/unadopted")).folders;
    } catch {
      list = []; // an older server: no such list
    }
  }
  folders = (Array.isArray(list) ? list : []).filter((f) => f && f.folder && String(f.media_files) !== "0");
  const known = new Set(folders.map(keyOf));
  for (const key of previews.keys()) if (!known.has(key)) previews.delete(key);
  render();
  return folders.length > 0;
}
