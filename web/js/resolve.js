// "Open in Resolve": queue a job for the resolve-agent, and the jobs panel (poll, cancel, errors).
import { $, api, el, say, sourceParam, state, when } from "./api.js";

const POLL_MS = 4000;
let timer = 0;
let unavailable = false;

function randomKey() {
  if (crypto.randomUUID) return crypto.randomUUID(); // secure contexts only
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export function showSelection() {
  const n = state.selection.size;
  $("resolve-selected").textContent = n ? `${n} item${n === 1 ? "" : "s"} selected` : "No media selected";
  $("resolve-submit").disabled = !n || !state.project;
  $("resolve-same").textContent = state.project || "…";
}

function targetChanged() {
  const target = new FormData($("resolve-form")).get("target");
  $("resolve-new-name").disabled = target !== "__new__";
  $("resolve-new-name").required = target === "__new__";
}

async function submit(event) {
  event.preventDefault();
  const form = new FormData($("resolve-form"));
  const target = form.get("target");
  const body = {
    project: target === "same" ? state.project : target,
    new_project_name: target === "__new__" ? $("resolve-new-name").value.trim() || null : null,
    media_project: state.project,
    media_rel_paths: [...state.selection],
    mode: form.get("mode"),
    source: state.source,
    idempotency_key: randomKey(),
  };
  $("resolve-submit").disabled = true;
  try {
    const answer = await api("/api/resolve/open", { method: "POST", body }); // 200 {ok, job_id, created, job}
    const status = (answer.job && answer.job.status) || "pending";
    say(
      "resolve-message",
      answer.created
        ? `Job ${answer.job_id} queued (${status}): the resolve-agent on the Resolve machine picks it up.`
        : `Job ${answer.job_id} was already queued (${status}).`,
      "ok",
    );
    await loadJobs();
  } catch (error) {
    say("resolve-message", `Not queued: ${error.message}`, "bad");
  } finally {
    showSelection();
  }
}

async function cancel(job) {
  try {
    await api(`/api/resolve/jobs/${encodeURIComponent(job.id)}/cancel`, { method: "POST" });
    say("jobs-message", `Job ${job.id} canceled.`, "ok");
  } catch (error) {
    say("jobs-message", `Could not cancel job ${job.id}: ${error.message}`, "bad");
  }
  await loadJobs();
}

function jobItem(job) {
  const paths = job.media_rel_paths || [];
  const target = job.resolve_project || job.project || "(open project)";
  return el(
    "li",
    { dataset: { job: job.id, status: job.status } },
    el(
      "div",
      { class: "job-head" },
      el("strong", {}, `#${job.id}`),
      el("span", { class: `status-${job.status}` }, job.status),
      el("span", {}, `${job.mode === "reveal_in_explorer" ? "reveal" : "import"} → ${target}`),
      job.status === "pending" || job.status === "claimed"
        ? el("button", { type: "button", onclick: () => cancel(job), "aria-label": `Cancel job ${job.id}` }, "Cancel")
        : null,
    ),
    el(
      "div",
      { class: "muted" },
      `${paths.length} file${paths.length === 1 ? "" : "s"} from ${job.project || "?"} · ${when(job.created_at)}`,
      job.claimed_by ? ` · claimed by ${job.claimed_by}` : "",
      job.attempts ? ` · attempt ${job.attempts}` : "",
    ),
    job.error ? el("div", { class: "bad" }, `Error: ${job.error}`) : null,
    job.result && job.status === "done" ? el("div", { class: "ok" }, summary(job.result)) : null,
  );
}

function summary(result) {
  if (typeof result === "string") return result;
  if (Array.isArray(result)) return `${result.length} result(s)`;
  const parts = Object.entries(result)
    .filter(([, v]) => typeof v !== "object")
    .map(([k, v]) => `${k}: ${v}`);
  return parts.length ? parts.join(" · ") : "done";
}

export async function loadJobs() {
  if (unavailable) return;
  try {
    const data = await api("/api/resolve/jobs", { params: { status: $("job-filter").value } });
    const jobs = data.jobs || [];
    $("job-list").replaceChildren(
      ...(jobs.length ? jobs.map(jobItem) : [el("li", { class: "muted" }, "No jobs.")]),
    );
    if ($("jobs-message").classList.contains("bad")) say("jobs-message", "");
  } catch (error) {
    if (error.status === 404 || error.status === 405) {
      unavailable = true;
      say("jobs-message", "This server has no Resolve bridge.", "warn");
    } else {
      say("jobs-message", `Could not list jobs: ${error.message}`, "bad");
    }
  }
}

function poll() {
  clearTimeout(timer);
  timer = setTimeout(async () => {
    if (!document.hidden) await loadJobs();
    poll();
  }, POLL_MS);
}

export function initResolve() {
  $("resolve-form").addEventListener("submit", submit);
  $("resolve-form").addEventListener("change", targetChanged);
  $("job-filter").addEventListener("change", loadJobs);
  $("jobs-refresh").addEventListener("click", () => {
    unavailable = false;
    loadJobs();
  });
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) loadJobs();
  });
  showSelection();
  targetChanged();
  loadJobs();
  poll();
}
