// Uploads: drop zone and picker, one streamed XHR per file (two at a time), progress and results.
import { $, bytes, duration, el, emit, projectPath, query, sourceParam, state } from "./api.js";

// Mirrors daemon/mediatypes.py ACCEPTED_EXTENSIONS; the server's 415 answer stays the authority.
export const ACCEPTED = [
  ".aac", ".arw", ".avi", ".avif", ".braw", ".cr2", ".cr3", ".dng", ".flac", ".gif", ".heic",
  ".heif", ".hif", ".insv", ".jpeg", ".jpg", ".lrv", ".m2ts", ".m4a", ".m4v", ".mkv", ".mov",
  ".mp3", ".mp4", ".mpeg", ".mpg", ".mpo", ".mts", ".mxf", ".nef", ".orf", ".png", ".r3d", ".raf",
  ".rw2", ".tif", ".tiff", ".wav", ".webm", ".webp",
];
const CONCURRENCY = 2;
const queue = [];
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
  const cancel = el("button", { type: "button", "aria-label": `Cancel upload of ${file.name}` }, "Cancel");
  const item = el(
    "li",
    { class: "upload", dataset: { name: file.name, status: "queued" } },
    el("div", { class: "upload-head" }, el("span", { class: "name" }, file.name), status, cancel),
    bar,
    detail,
  );
  return { item, bar, status, detail, cancel };
}

function finish(job, status, text, tone) {
  job.view.item.dataset.status = status;
  job.view.status.textContent = status;
  job.view.status.className = `tag ${tone}`;
  job.view.detail.replaceChildren(...(Array.isArray(text) ? text : [text]));
  job.view.detail.className = `small ${tone === "ok" ? "muted" : tone}`;
  job.view.cancel.remove();
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

function onDone(job, xhr) {
  let body = null;
  try {
    body = JSON.parse(xhr.responseText || "null");
  } catch {
    body = { detail: (xhr.responseText || "").slice(0, 200) };
  }
  if (xhr.status === 200 && body && body.status) {
    const tone = body.status === "stored" ? "ok" : "warn";
    finish(job, body.status, resultText(body), tone);
    emit("uploaded", { project: job.project, source: job.source, body });
  } else {
    const why = (body && body.detail) || xhr.statusText || "no answer";
    finish(job, "refused", `${xhr.status} ${body && body.error ? body.error : ""}: ${why}`, "bad");
  }
}

function progress(job, event) {
  if (!event.lengthComputable) return;
  const now = performance.now();
  const seconds = (now - job.started) / 1000;
  const speed = seconds > 0.05 ? event.loaded / seconds : 0;
  const left = speed > 0 ? (event.total - event.loaded) / speed : Infinity;
  const percent = Math.min(100, (event.loaded / event.total) * 100);
  job.view.bar.value = percent;
  job.view.status.textContent = `${percent.toFixed(0)}%`;
  job.view.detail.textContent =
    `${bytes(event.loaded)} of ${bytes(event.total)} · ${bytes(speed)}/s` +
    (Number.isFinite(left) ? ` · ${duration(left)} left` : "");
  if (event.loaded >= event.total) job.view.status.textContent = "hashing…";
}

function start(job) {
  running += 1;
  const xhr = new XMLHttpRequest();
  job.xhr = xhr;
  job.started = performance.now();
  job.view.item.dataset.status = "sending";
  job.view.status.textContent = "0%";
  xhr.open("POST", projectPath(job.project, "/upload") + query({ source: sourceParam(job.source) }));
  xhr.responseType = "text";
  xhr.setRequestHeader("Accept", "application/json");
  xhr.upload.onprogress = (event) => progress(job, event);
  xhr.onload = () => onDone(job, xhr);
  xhr.onerror = () => finish(job, "failed", "network error: the connection was lost", "bad");
  xhr.onabort = () => finish(job, "canceled", "canceled", "muted");
  xhr.onloadend = () => {
    running -= 1;
    pump();
  };
  const form = new FormData();
  form.append("file", job.file, job.file.name); // a File streams from disk; never read into memory
  xhr.send(form);
}

function pump() {
  while (running < CONCURRENCY && queue.length) start(queue.shift());
}

/** Queue files for the current project; refused ones are reported without being sent. */
export function addFiles(files) {
  if (!state.project) {
    $("upload-list").prepend(el("li", { class: "bad small" }, "Pick or create a project first."));
    return;
  }
  for (const file of files) {
    const view = row(file);
    $("upload-list").prepend(view.item);
    const job = { file, view, project: state.project, source: state.source, xhr: null };
    const why = refusal(file);
    if (why) {
      finish(job, "refused", `not sent: ${why}`, "bad");
      continue;
    }
    view.cancel.addEventListener("click", () => {
      if (job.xhr) job.xhr.abort();
      else {
        queue.splice(queue.indexOf(job), 1);
        finish(job, "canceled", "canceled before sending", "muted");
      }
    });
    queue.push(job);
  }
  pump();
}

export function initUpload() {
  $("accepted").textContent = ACCEPTED.join(" ");
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
