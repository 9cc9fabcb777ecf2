// Uploads: drop zone and picker; a pre-check skips what the project already has, the rest go
// through tus (resumable; resumable.js), two at a time, with progress, speed and time left.
import { $, api, bytes, duration, el, emit, projectPath, sourceParam, state } from "./api.js";
import { sendMultipart, sendResumable, tusAvailable, uploadsEndpoint } from "./resumable.js";

// Mirrors daemon/mediatypes.py ACCEPTED_EXTENSIONS; the server's 415 answer stays the authority.
export const ACCEPTED = [
  ".aac", ".arw", ".avi", ".avif", ".braw", ".cr2", ".cr3", ".dng", ".flac", ".gif", ".heic",
  ".heif", ".hif", ".insv", ".jpeg", ".jpg", ".lrv", ".m2ts", ".m4a", ".m4v", ".mkv", ".mov",
  ".mp3", ".mp4", ".mpeg", ".mpg", ".mpo", ".mts", ".mxf", ".nef", ".orf", ".png", ".r3d", ".raf",
  ".rw2", ".tif", ".tiff", ".wav", ".webm", ".webp",
];
const CONCURRENCY = 2;
const CHECK_BATCH = 1000; // items per pre-check request
const queue = [];
const picked = new Set(); // `name size` of every file picked on this page (not "earlier visits")
let running = 0;

function extension(name) {
  const dot = name.lastIndexOf(".");
  return dot > 0 ? name.slice(dot).toLowerCase() : "";
}

/** Why the page will not send a file, or "" when it may. */
function refusal(file) {
  if (!ACCEPTED.includes(extension(file.name))) {
    return `not a supported media type (${extension(file.name) || "no extension"})`;
  }
  const limit = state.health && state.health.max_upload_mb;
  if (limit && file.size > limit * 1024 * 1024) {
    return `${bytes(file.size)} is over the server's ${limit} MiB limit`;
  }
  return "";
}

function row(file) {
  const bar = el("progress", { max: "100", value: "0", "aria-label": `Upload progress of ${file.name}` });
  const status = el("span", { class: "tag" }, "queued");
  const detail = el("div", { class: "small muted" }, bytes(file.size));
  const retry = el("button", { type: "button", hidden: true, "aria-label": `Retry upload of ${file.name}` }, "Retry");
  const cancel = el("button", { type: "button", "aria-label": `Cancel upload of ${file.name}` }, "Cancel");
  const item = el(
    "li",
    { class: "upload", dataset: { name: file.name, status: "queued" } },
    el("div", { class: "upload-head" }, el("span", { class: "name" }, file.name), status, retry, cancel),
    bar,
    detail,
  );
  return { item, bar, status, detail, retry, cancel };
}

function show(job, status, label, text, tone = "muted") {
  const view = job.view;
  view.item.dataset.status = status;
  view.status.textContent = label;
  view.status.className = tone === "muted" ? "tag" : `tag ${tone}`;
  view.detail.replaceChildren(...(Array.isArray(text) ? text : [text]));
  view.detail.className = `small ${tone}`;
}

function finish(job, status, text, tone) {
  show(job, status, status, text, tone === "ok" ? "muted" : tone);
  job.view.status.className = `tag ${tone}`;
  job.view.cancel.remove();
  job.view.retry.hidden = true;
}

function resultText(body) {
  const parts = [`${bytes(body.size)} · ${body.path}`];
  if (body.status === "duplicate") parts.push(" · already in the project, nothing new stored");
  if (body.also_in && body.also_in.length) {
    parts.push(` · also in ${body.also_in.map((p) => p.project).join(", ")}`);
  }
  const link = body.served && body.served.stream_url;
  return link ? [parts.join(""), " · ", el("a", { href: link, target: "_blank", rel: "noopener" }, "open")] : parts.join("");
}

/** Percent, bytes, speed and time left; speed counts only what this page sent since it started. */
function progress(job, sent, total) {
  const now = performance.now();
  if (job.mark === null) job.mark = { at: now, sent };
  const seconds = (now - job.mark.at) / 1000;
  const speed = seconds > 0.05 ? (sent - job.mark.sent) / seconds : 0;
  const left = speed > 0 ? (total - sent) / speed : Infinity;
  const percent = total > 0 ? Math.min(100, (sent / total) * 100) : 100;
  const resumed = job.view.item.dataset.resumedAt;
  job.view.item.dataset.status = "sending";
  job.view.retry.hidden = true;
  job.view.item.dataset.percent = percent.toFixed(0);
  job.view.bar.value = percent;
  job.view.status.className = "tag";
  job.view.status.textContent = `${percent.toFixed(0)}%`;
  job.view.detail.className = "small muted";
  const pace = speed > 0 ? ` · ${bytes(speed)}/s · ${duration(left)} left` : " · measuring speed…";
  job.view.detail.textContent =
    (resumed ? `resumed at ${resumed}% · ` : "") + `${bytes(sent)} of ${bytes(total)}` + pace;
  if (sent >= total) job.view.status.textContent = "finishing…"; // the server hashes and files it
}

function release(job) {
  if (!job.active) return;
  job.active = false;
  running -= 1;
  pump();
}

/** What the transports report back to the row. */
function reporter(job) {
  return {
    progress: (sent, total) => progress(job, sent, total),
    accepted: (offset) => (job.view.item.dataset.offset = String(offset)),
    resuming(offset, total) {
      const percent = Math.floor((offset / total) * 100);
      job.view.item.dataset.resumedAt = String(percent);
      job.view.item.dataset.offset = String(offset);
      job.view.bar.value = percent;
      job.mark = null; // speed from here on
      show(job, "sending", `${percent}%`, `resuming at ${percent}% (${bytes(offset)} already on the server)`);
    },
    waiting(text) {
      show(job, "waiting", "paused", text, "warn");
      if (job.transfer && job.transfer.retry) job.view.retry.hidden = false;
      job.mark = null;
    },
    done(body) {
      job.view.bar.value = 100;
      job.view.item.dataset.path = body.path || "";
      finish(job, body.status, resultText(body), body.status === "stored" ? "ok" : "warn");
      emit("uploaded", { project: job.project, source: job.source, body });
      release(job);
      showUnfinished();
    },
    failed(text, status) {
      const refused = status >= 400 && status < 500;
      finish(job, refused ? "refused" : "failed", text, "bad");
      if (!refused && job.transfer && job.transfer.retry) {
        job.view.retry.hidden = false; // tus: Retry picks up from the server's offset
      }
      release(job);
    },
  };
}

async function start(job) {
  running += 1;
  job.active = true;
  job.mark = null;
  show(job, "sending", "0%", "starting…");
  const endpoint = uploadsEndpoint(job.project, job.source);
  const ui = reporter(job);
  const tus = await tusAvailable(endpoint);
  if (!job.active) return; // canceled while asking
  if (tus) {
    job.transfer = sendResumable(job, endpoint, ui);
  } else {
    job.mark = { at: performance.now(), sent: 0 };
    job.transfer = sendMultipart(job, ui);
  }
}

function pump() {
  while (running < CONCURRENCY && queue.length) start(queue.shift());
}

function wire(job) {
  job.view.cancel.addEventListener("click", () => {
    const index = queue.indexOf(job);
    if (index >= 0) queue.splice(index, 1);
    finish(job, "canceled", job.transfer ? "canceling…" : "canceled before sending", "muted");
    if (job.transfer) {
      job.transfer.cancel().then((removed) => {
        job.view.detail.textContent = removed
          ? "canceled; the partial upload was removed"
          : "canceled; the server removes the partial upload when it expires";
        showUnfinished();
      });
    }
    job.transfer = null;
    release(job);
  });
  job.view.retry.addEventListener("click", () => {
    if (!job.transfer || !job.transfer.retry) return;
    job.view.retry.hidden = true;
    if (!job.active) {
      running += 1; // a failed upload takes a slot again
      job.active = true;
      job.view.item.querySelector(".upload-head").append(job.view.cancel);
    }
    show(job, "sending", "…", "retrying…");
    job.transfer.retry();
  });
}

const REASONS = {
  same_content: "the same content",
  same_name_size: "same name and size",
  same_name_size_time: "same name, size and capture time",
  same_size_time: "same size and capture time, under another name",
  empty: "an empty file is never stored",
};

/** Ask the server which files it has already: one request per 1,000 files. A server without
 * the check (or a failed request) means every file is sent; the server still de-duplicates. */
async function precheck(project, source, jobs) {
  const decisions = [];
  for (let i = 0; i < jobs.length; i += CHECK_BATCH) {
    const part = jobs.slice(i, i + CHECK_BATCH);
    const items = part.map(({ file }) => ({
      name: file.name,
      size: file.size,
      ...(file.lastModified ? { modified_at: new Date(file.lastModified).toISOString() } : {}),
    }));
    try {
      const answer = await api(projectPath(project, "/upload-check"), {
        method: "POST",
        body: { items },
        params: { source: sourceParam(source) },
      });
      const list = Array.isArray(answer) ? answer : (answer && answer.items) || [];
      part.forEach((_, n) => decisions.push(list.length === part.length ? list[n] : null));
    } catch {
      part.forEach(() => decisions.push(null));
    }
  }
  return decisions;
}

/** Queue files for the current project; refused ones are reported without being sent. */
export async function addFiles(files) {
  if (!state.project) {
    $("upload-list").prepend(el("li", { class: "bad small" }, "Pick or create a project first."));
    return;
  }
  const checking = [];
  for (const file of files) {
    const view = row(file);
    $("upload-list").prepend(view.item);
    const job = { file, view, project: state.project, source: state.source, transfer: null, active: false, mark: null };
    const why = refusal(file);
    if (why) {
      finish(job, "refused", `not sent: ${why}`, "bad");
      continue;
    }
    show(job, "checking", "checking…", `${bytes(file.size)} · asking the server whether it has this file`);
    wire(job);
    picked.add(`${file.name} ${file.size}`);
    checking.push(job);
  }
  if (!checking.length) return;
  showUnfinished();
  const decisions = await precheck(checking[0].project, checking[0].source, checking);
  checking.forEach((job, n) => {
    if (job.view.item.dataset.status === "canceled") return;
    const decision = decisions[n];
    if (decision && decision.decision === "skip" && !decision.path) {
      // Not a copy the project has: a file the server would refuse (an empty one, a bad name).
      finish(job, "refused", `not sent: ${decision.detail || REASONS[decision.reason] || decision.reason}`, "bad");
      return;
    }
    if (decision && decision.decision === "skip") {
      job.view.bar.value = 100;
      job.view.item.dataset.path = decision.path;
      const why = REASONS[decision.reason] || decision.reason || "the project has it";
      finish(job, "skipped", `already there as ${decision.path}: not sent (${why})`, "muted");
      job.view.status.textContent = "already there";
      return;
    }
    show(job, "queued", "queued", bytes(job.file.size));
    queue.push(job);
  });
  pump();
}

/** Uploads an earlier visit left unfinished (tus-js-client's records in localStorage). */
function unfinished() {
  const found = [];
  const recent = Date.now() - 2 * 24 * 3600 * 1000; // the server forgets them after a day
  try {
    for (let i = 0; i < localStorage.length; i++) {
      const key = localStorage.key(i);
      if (!key || !key.startsWith("tus::")) continue;
      const record = JSON.parse(localStorage.getItem(key) || "null");
      const url = record && record.uploadUrl;
      const match = url && url.startsWith(location.origin) && /\/api\/projects\/([^/]+)\/uploads\//.exec(url);
      if (!match || Date.parse(record.creationTime) < recent) continue;
      const name = (record.metadata && record.metadata.filename) || "?";
      if (picked.has(`${name} ${record.size}`)) continue;
      found.push(`${name} (${bytes(record.size)}, ${decodeURIComponent(match[1])})`);
    }
  } catch {
    /* storage disabled or a foreign entry: nothing to offer */
  }
  return found;
}

function showUnfinished() {
  const list = unfinished();
  const note = $("upload-resume-note");
  note.hidden = !list.length;
  note.textContent = list.length
    ? `Unfinished from an earlier visit: ${list.join(", ")}. Pick the same files in the same project to resume them.`
    : "";
}

export function initUpload() {
  $("accepted").textContent = ACCEPTED.join(" ");
  showUnfinished();
  const input = $("file-input");
  input.addEventListener("change", () => {
    addFiles([...input.files]);
    input.value = "";
  });
  const zone = $("dropzone");
  for (const name of ["dragenter", "dragover"]) {
    zone.addEventListener(name, (event) => {
      event.preventDefault();
      zone.classList.add("over");
    });
  }
  for (const name of ["dragleave", "drop"]) {
    zone.addEventListener(name, () => zone.classList.remove("over"));
  }
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    addFiles([...(event.dataTransfer ? event.dataTransfer.files : [])]);
  });
  // A file dropped outside the zone must not navigate away from the page.
  window.addEventListener("dragover", (event) => event.preventDefault());
  window.addEventListener("drop", (event) => event.preventDefault());
}
