// Start-up and wiring: project/source choice (URL hash + localStorage), live events, refresh timers.
import { $, copyText, debounce, emit, on, recall, remember, state } from "./api.js";
import { clearSelection, initExplorer, refreshSoon, reload, removed, selectShown, thumbBySha } from "./explorer.js";
import { renderHelp } from "./help.js";
import { ensureLogin, initLogin } from "./login.js";
import { initManage } from "./manage.js";
import { initProjects, loadProjects, markCurrent } from "./projects.js";
import { initResolve, showSelection } from "./resolve.js";
import { initStatus, loadHealth, loadSources } from "./status.js";
import { initUpload } from "./upload.js";
import { initViewer } from "./viewer.js";

const LIVE_TYPES = ["stored", "duplicate", "indexed", "moved", "removed", "thumbnail", "metadata"];
const GRID_CHANGES = new Set(["stored", "indexed", "moved", "metadata"]);

function fromHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  return { project: params.get("project") || "", source: params.get("source") || "" };
}

function writeHash() {
  const params = new URLSearchParams();
  if (state.project) params.set("project", state.project);
  if (state.source && state.source !== "primary") params.set("source", state.source);
  const hash = params.toString();
  if (location.hash.slice(1) !== hash) history.replaceState(null, "", hash ? `#${hash}` : location.pathname);
  if (!state.project) return;
  // The project last used in each source; the current one is stored once (tests count it).
  const saved = recall();
  const others = { ...(saved.others || {}) };
  if (saved.source && saved.project) others[saved.source] = saved.project;
  delete others[state.source];
  remember({ project: state.project, source: state.source, others });
}

/** The project this browser used last in `source` (localStorage), or "". */
function rememberedIn(source) {
  const saved = recall();
  if (saved.source === source) return saved.project || "";
  return (saved.others && saved.others[source]) || "";
}

/** The project with the newest arrival (or creation): `last_activity_at` of GET /api/projects. */
function mostRecent(projects) {
  let best = "";
  let bestAt = -Infinity;
  for (const p of projects) {
    const at = Date.parse(p.last_activity_at || p.created_at || "");
    const time = Number.isNaN(at) ? -Infinity : at;
    if (time >= bestAt) [best, bestAt] = [p.name, time]; // a tie goes to the higher number
  }
  return best;
}

function showProject() {
  $("current-project").textContent = state.project || "none";
  $("upload-project").textContent = state.project || "(pick a project)";
  markCurrent();
  showSelection();
  renderHelp();
}

let gridKey = null; // "source/project" whose media the grid shows

/** Make `name` the current project: hash, storage, labels, and the grid when it changed. */
function show(name) {
  if (name !== state.project && state.selection.size) {
    state.selection.clear();
    emit("selection", state.selection);
  }
  state.project = name;
  writeHash();
  showProject();
  const key = `${state.source}/${name}`;
  if (key !== gridKey) {
    gridKey = key;
    reload();
  }
}

function chooseProject(name) {
  show(name);
}

async function chooseSource(name) {
  state.source = name || "primary";
  state.project = "";
  state.selection.clear();
  emit("selection", state.selection);
  await loadProjects(); // settles on a project of the new source
}

/** After (re)loading the project list: the chosen project if it still exists, else the one
 * last used in this browser, else the one with the most recent activity. */
function settleProject() {
  const names = state.projects.map((p) => p.name);
  let name = state.project;
  if (!names.includes(name)) name = rememberedIn(state.source);
  if (!names.includes(name)) name = mostRecent(state.projects);
  show(name);
}

/** How many filters narrow the grid, beside the (on a phone, folded) "Filter and sort". */
function countFilters() {
  const active = ["kind-filter", "search", "tag-filter"].filter((id) => $(id).value.trim()).length;
  $("filters-active").textContent = active ? `(${active} active)` : "";
}

function setLive(on, text) {
  $("live-pill").className = `pill ${on ? "on" : "warn"}`;
  $("live-text").textContent = text;
}

const refreshProjects = debounce(loadProjects, 1500);

function onLiveEvent(type, message) {
  let data;
  try {
    data = JSON.parse(message.data);
  } catch {
    return;
  }
  if ((data.source || "primary") !== state.source) return;
  if (type !== "thumbnail" && type !== "metadata") refreshProjects();
  if (data.project !== state.project) return;
  if (type === "thumbnail") thumbBySha(data.sha256, data.relative_path);
  else if (type === "removed") removed(data.relative_path);
  if (GRID_CHANGES.has(type) || type === "removed") refreshSoon();
}

function connectLive() {
  if (!window.EventSource) {
    setLive(false, "no live updates in this browser");
    return;
  }
  const stream = new EventSource("/api/events");
  stream.addEventListener("open", () => setLive(true, "live"));
  stream.addEventListener("error", async () => {
    if (stream.readyState !== EventSource.CLOSED) {
      setLive(false, "reconnecting…");
      return;
    }
    setLive(false, "disconnected"); // refused (a 401 after a logout elsewhere): log in, reconnect
    await ensureLogin();
    setTimeout(connectLive, 2000);
  });
  for (const type of LIVE_TYPES) stream.addEventListener(type, (message) => onLiveEvent(type, message));
  window.addEventListener("pagehide", () => stream.close());
}

async function start() {
  const hash = fromHash();
  const saved = recall();
  state.source = hash.source || saved.source || "primary";
  state.project = hash.project || "";
  // On a phone the explorer's filters start folded, so the first media are a short scroll away.
  if (window.matchMedia("(max-width: 600px)").matches) $("explorer-filters").open = false;
  for (const type of ["input", "change"]) $("explorer-filters").addEventListener(type, countFilters);
  initLogin();
  await ensureLogin(); // a server with a token asks for it before anything else loads
  initStatus();
  initProjects();
  initUpload();
  initExplorer();
  initViewer();
  initManage();
  on("choose-project", chooseProject);
  on("choose-source", chooseSource);
  on("projects", settleProject);
  on("health", renderHelp);
  on("adopted", async (answer) => {
    await loadHealth();
    if ((answer.source || "primary") !== state.source) return;
    await loadProjects();
    if (state.projects.some((p) => p.name === answer.project)) chooseProject(answer.project);
  });
  on("selection", showSelection);
  on("uploaded", ({ project, source }) => {
    if (project === state.project && source === state.source) refreshSoon();
  });
  $("select-all").addEventListener("click", selectShown);
  $("clear-selection").addEventListener("click", clearSelection);
  on("selection", (selection) => ($("clear-selection").disabled = !selection.size));
  on("selection", (selection) => {
    $("open-resolve").disabled = !selection.size;
    $("selection-count").textContent = `${selection.size} selected`;
  });
  $("open-resolve").addEventListener("click", () => {
    $("resolve").scrollIntoView({ behavior: "smooth", block: "start" });
    $("resolve-submit").focus({ preventScroll: true });
  });
  $("copy-lan").addEventListener("click", async () => {
    const ok = await copyText($("lan-url").textContent);
    $("copy-lan").textContent = ok ? "Copied" : "Copy failed";
    setTimeout(() => ($("copy-lan").textContent = "Copy"), 1500);
  });
  window.addEventListener("hashchange", () => {
    const next = fromHash();
    if (next.source && next.source !== state.source) chooseSource(next.source);
    else if (next.project) chooseProject(next.project);
  });
  showProject();
  await Promise.all([loadHealth(), loadSources(), loadProjects()]);
  initResolve();
  connectLive();
  setInterval(() => {
    if (!document.hidden) {
      loadHealth();
      loadSources();
    }
  }, 20000);
}

start();
