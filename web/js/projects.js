// Projects of the chosen source: list with counts, create (the P{n}- rule), pick one.
import { $, api, el, emit, say, sourceParam, state } from "./api.js";

const NUMBERED = /^P([1-9][0-9]{0,8})-(.+)$/; // daemon/storage/conventions.py PROJECT_RE

const nfc = (text) => text.normalize("NFC");
const labelOf = (name) => (NUMBERED.exec(name) || [null, null, name])[2];
// Python's str.casefold, near enough: "ß" upper-cases to "SS", then lower-cases to "ss".
const fold = (text) => text.toUpperCase().toLowerCase();

/** What the server will name a project typed as `raw`, the way daemon/storage/projects.py
 * does: NFC, trimmed, an existing folder name as it is, else the label (a typed P{n}- dropped,
 * spaces to dashes) compared case-blind with each project's label; a new one gets the next
 * number. `{name, exists}`, or null while nothing usable is typed. */
export function predictName(raw, names) {
  const typed = nfc((raw || "").trim());
  if (!typed) return null;
  const same = names.find((n) => nfc(n) === typed);
  if (same) return { name: same, exists: true };
  const label = labelOf(typed).replace(/\s+/g, "-").replace(/^-+|-+$/g, "");
  if (!label) return null;
  const existing = names.find((n) => fold(nfc(labelOf(n))) === fold(label));
  if (existing) return { name: existing, exists: true };
  const highest = names.reduce((max, n) => Math.max(max, Number((NUMBERED.exec(n) || [])[1] || 0)), 0);
  return { name: `P${highest + 1}-${label}`, exists: false };
}

/** Nothing before typing; then the name the server will give, and whether it exists. */
function updateRule() {
  const guess = predictName($("new-name").value, state.projects.map((p) => p.name));
  $("name-hint").hidden = !guess;
  $("rule-example-out").textContent = guess ? guess.name : "";
  $("name-exists").textContent = guess && guess.exists ? "(already exists: Create selects it)" : "";
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

function renderPicker() {
  const select = $("project-select");
  if (!state.projects.length) {
    select.replaceChildren(el("option", { value: "" }, "No projects yet: New… makes one"));
    return;
  }
  select.replaceChildren(
    ...state.projects.map((p) => {
      const files = p.counts ? p.counts.files || 0 : 0;
      const label = `${p.name} (${files} file${files === 1 ? "" : "s"})${p.source_accessible ? "" : " (offline)"}`;
      return el("option", { value: p.name, selected: p.name === state.project }, label);
    }),
  );
}

function renderProjects() {
  const list = $("project-list");
  renderPicker();
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
  const select = $("project-select");
  if (state.projects.some((p) => p.name === state.project)) select.value = state.project;
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
  $("project-select").addEventListener("change", (event) => {
    if (event.target.value) emit("choose-project", event.target.value);
  });
  $("new-project").addEventListener("click", () => {
    $("projects").scrollIntoView({ behavior: "smooth", block: "start" });
    $("new-name").focus({ preventScroll: true });
  });
}
