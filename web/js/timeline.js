// The ingest timeline of the file in the viewer (GET /api/projects/{p}/media/{sha256}/timeline):
// a compact vertical list of step, time and detail, failures in red. A server without the route
// (404) shows nothing.
import { $, api, el, projectPath, sourceParam, state } from "./api.js";

const LABELS = {
  arrived: "Arrived",
  settled: "Settled",
  hashed: "Hashed",
  duplicate: "Duplicate",
  stored: "Stored",
  relocated: "Relocated",
  metadata: "Metadata read",
  thumbnail: "Thumbnail made",
  queued_resolve: "Queued for Resolve",
  imported: "Imported into Resolve",
};

let asked = 0; // the newest request wins (the viewer moves on, live events ask again)

/** The time of a step: date and time for the first one (and on another day), else the time. */
function stamp(iso, previous) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso || "");
  const before = previous ? new Date(previous) : null;
  const sameDay = before && !Number.isNaN(before.getTime()) && before.toDateString() === date.toDateString();
  return sameDay ? date.toLocaleTimeString() : date.toLocaleString();
}

function render(steps) {
  $("viewer-timeline").replaceChildren(
    ...steps.map((step, n) =>
      el(
        "li",
        { class: step.ok === false ? "failed" : "", dataset: { step: step.step, ok: String(step.ok !== false) } },
        el("span", { class: "step" }, LABELS[step.step] || step.step),
        el("time", { class: "at", datetime: step.at || "" }, stamp(step.at, n ? steps[n - 1].at : null)),
        step.detail ? el("span", { class: "detail" }, step.detail) : null,
      ),
    ),
  );
  $("viewer-timeline-box").hidden = !steps.length;
}

/** Clear the timeline, then show the one of `item` (a listing item of the current project). */
export async function showTimeline(item, { keep = false } = {}) {
  const ticket = ++asked;
  if (!keep) render([]);
  if (!item || !item.sha256 || !state.project) return;
  const path = projectPath(state.project, `/media/${encodeURIComponent(item.sha256)}/timeline`);
  let answer;
  try {
    answer = await api(path, { params: { source: sourceParam(state.source) } });
  } catch {
    return; // 404: no timelines on this server (or the file just left); not worth an error
  }
  if (ticket !== asked || !$("viewer").open) return;
  render(Array.isArray(answer && answer.steps) ? answer.steps : []);
}

export function clearTimeline() {
  asked += 1;
  render([]);
}
