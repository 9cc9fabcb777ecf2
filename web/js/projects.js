// Projects of the chosen source: list with counts, create (the P{n}- rule), pick one.
import { $, api, el, emit, say, sourceParam, state } from "./api.js";

const NUMBERED = /^P(\d+)-(.+)$/;

/** What the server will name a new project: "New Project" -> "P3-New-Project" (or the existing one). */
export function predictName(raw, names) {
  const typed = (raw || "").trim();
  const label = typed.replace(NUMBERED, "$2").replace(/\s+/g, "-").replace(/^-+|-+$/g, "");
  if (!label) return "";
  const existing = names.find(
    (n) => n === typed || n.replace(NUMBERED, "$2").toLowerCase() === label.toLowerCase(),
  );
  if (existing) return `${existing} (already exists)`;
  const highest = names.reduce((max, n) => Math.max(max, Number((n.match(NUMBERED) || [])[1] || 0)), 0);
  return `P${highest + 1}-${label}`;
}

function updateRule() {
  const names = state.projects.map((p) => p.name);
  const typed = $("new-name").value.trim() || "New Project";
  $("rule-example-in").textContent = typed;
  $("rule-example-out").textContent = predictName(typed, names) || "—";
}

function countsText(counts) {
  if (!counts) return "";
  const parts = [];
  if (counts.videos) parts.push(`${counts.videos} video${counts.videos === 1 ? "" : "s"}`);
  if (counts.images) parts.push(`${counts.images} image${counts.images === 1 ? "" : "s"}`);
  if (counts.audio) parts.push(`${counts.audio} audio`);
  if (!parts.length) parts.push(`${counts.files || 0} files`);
  if (counts.duplicates_skipped) parts.push(`${counts.duplicates_skipped} dup skipped`);
  return parts.join(" · ");
}

function renderProjects() {
  const list = $("project-list");
  if (!state.projects.length) {
    list.replaceChildren(el("li", { class: "muted small" }, "No projects yet: create one below."));
  } else {
    list.replaceChildren(
      ...state.projects.map((p) =>
        el(
          "li",
          {},
          el(
            "button",
            {
              type: "button",
              class: "project-btn",
              "aria-current": p.name === state.project ? "true" : "false",
              dataset: { project: p.name },
              title: p.notes || p.instructions || "",
              onclick: () => emit("choose-project", p.name),
            },
            el("span", {}, p.name, p.source_accessible ? "" : " (offline)"),
            el("span", { class: "counts" }, countsText(p.counts)),
          ),
        ),
      ),
    );
  }
  updateRule();
}

export async function loadProjects() {
  try {
    state.projects = await api("/api/projects", { params: { source: sourceParam(state.source) } });
  } catch (error) {
    state.projects = [];
    $("project-list").replaceChildren(
      el("li", { class: "bad small" }, `Could not list projects: ${error.message}`),
    );
    return;
  }
  renderProjects();
  emit("projects", state.projects);
}

export function markCurrent() {
  for (const button of $("project-list").querySelectorAll(".project-btn")) {
    button.setAttribute("aria-current", button.dataset.project === state.project ? "true" : "false");
  }
}

export function currentProject() {
  return state.projects.find((p) => p.name === state.project) || null;
}

async function create(event) {
  event.preventDefault();
  const name = $("new-name").value.trim();
  if (!name) return;
  try {
    const body = { name, notes: $("new-notes").value.trim() };
    const made = await api("/api/projects", {
      method: "POST",
      body,
      params: { source: sourceParam(state.source) },
    });
    say(
      "create-message",
      made.created ? `Created ${made.name}.` : `${made.name} already exists; selected it.`,
      made.created ? "ok" : "warn",
    );
    $("create-form").reset();
    await loadProjects();
    emit("choose-project", made.name);
  } catch (error) {
    say("create-message", `Not created: ${error.message}`, "bad");
  }
}

export function initProjects() {
  $("create-form").addEventListener("submit", create);
  $("new-name").addEventListener("input", updateRule);
}
