// Sending one file: tus 1.0.0 through the vendored tus-js-client (resumable: after a network
// drop, and after a page reload once the same file is picked again), or the plain multipart
// upload when the server or the browser cannot do tus.
import { projectPath, query, sourceParam } from "./api.js";

const MIB = 1024 * 1024;
const DEFAULT_CHUNK = 64 * MIB;
// Retries after a dropped connection; the counter restarts whenever a chunk gets through.
const RETRY_DELAYS = [0, 1000, 3000, 5000, 10000, 20000, 30000];

/** PATCH size: `window.MEDIA_SYNC_UPLOAD_CHUNK` or `data-chunk-size` on #upload (tests), else 64 MiB. */
export function chunkSize() {
  const section = document.getElementById("upload");
  const wanted = Number(window.MEDIA_SYNC_UPLOAD_CHUNK || (section && section.dataset.chunkSize) || 0);
  return Number.isFinite(wanted) && wanted >= 64 * 1024 ? Math.floor(wanted) : DEFAULT_CHUNK;
}

/** The tus creation URL of a project, absolute (tus-js-client keys its resume records on it). */
export function uploadsEndpoint(project, source) {
  return location.origin + projectPath(project, "/uploads") + query({ source: sourceParam(source) });
}

const probes = new Map(); // endpoint -> Promise<boolean>

/** Whether tus can be used for this endpoint: the library loaded and `OPTIONS` names tus 1.0.0.
 * A definite answer is kept for the page's life; a failed request is asked again next time. */
export function tusAvailable(endpoint) {
  const tus = window.tus;
  if (!tus || !tus.isSupported || typeof tus.Upload !== "function") return Promise.resolve(false);
  if (!probes.has(endpoint)) {
    const probe = fetch(endpoint, { method: "OPTIONS", credentials: "same-origin" })
      .then((r) => r.ok && (r.headers.get("Tus-Version") || "").split(",").map((v) => v.trim()).includes("1.0.0"))
      .catch(() => {
        probes.delete(endpoint);
        return false;
      });
    probes.set(endpoint, probe);
  }
  return probes.get(endpoint);
}

function parse(text) {
  try {
    return JSON.parse(text || "null");
  } catch {
    return { detail: String(text || "").slice(0, 200) };
  }
}

/** Worth another try: no answer at all (network), a 5xx but a full disk (507), or 409/423
 * (the offset moved, the upload is busy). */
function retryable(err) {
  const status = err && err.originalResponse ? err.originalResponse.getStatus() : 0;
  return status === 0 || (status >= 500 && status !== 507) || status === 409 || status === 423;
}

/** The committed upload's answer: the last response's headers, else the upload's JSON state. */
async function outcome(response, url, file) {
  const status = response && response.getHeader("X-Media-Sync-Status");
  if (status) {
    return { status, path: response.getHeader("X-Media-Sync-Path") || "", size: file.size };
  }
  const answer = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  const state = parse(await answer.text());
  const result = state && state.result;
  if (!answer.ok || !result || !result.status) throw new Error(`no result for ${url} (HTTP ${answer.status})`);
  return { size: file.size, ...result };
}

/**
 * Send `job.file` with tus. `ui` gets: progress(sent, total), accepted(offset), resuming(offset,
 * total), waiting(text), done(body), failed(text). Returns { cancel, retry }.
 */
export function sendResumable(job, endpoint, ui) {
  const { file } = job;
  let resumeCheck = false; // the next HEAD answers "where were we?" for an upload found in storage
  let onlineAgain = null; // waiting for the browser's "online" event
  let canceled = false; // from then on only the termination request retries, silently
  const upload = new window.tus.Upload(file, {
    endpoint,
    chunkSize: chunkSize(),
    retryDelays: RETRY_DELAYS,
    metadata: { filename: file.name },
    storeFingerprintForResuming: true,
    removeFingerprintOnSuccess: true,
    onShouldRetry: (err) => {
      if (!retryable(err)) return false;
      if (canceled) return true;
      const status = err.originalResponse ? err.originalResponse.getStatus() : 0;
      const why = status ? `the server answered ${status}` : navigator.onLine ? "connection lost" : "offline";
      ui.waiting(`${why}, retrying…`);
      return true;
    },
    onProgress: (sent, total) => ui.progress(sent, total),
    onChunkComplete: (_size, accepted) => ui.accepted(accepted),
    onAfterResponse: (req, res) => {
      if (req.getMethod() !== "HEAD" || !resumeCheck) return;
      resumeCheck = false;
      const offset = Number.parseInt(res.getHeader("Upload-Offset"), 10);
      const total = Number.parseInt(res.getHeader("Upload-Length"), 10);
      if (res.getStatus() < 300 && offset > 0 && total > 0) ui.resuming(offset, total);
    },
    onSuccess: ({ lastResponse }) => {
      outcome(lastResponse, upload.url, file).then(ui.done, (err) => ui.failed(`sent, but ${err.message}`));
    },
    onError: (err) => {
      const response = err.originalResponse;
      if (!response && !err.originalRequest) {
        ui.failed(err.message, 0); // not HTTP at all (the file could not be read, say)
        return;
      }
      if (!response) {
        // No answer: the network is gone. Pick up where the server left off once it is back.
        ui.waiting("connection lost: resumes when the network is back, or press Retry");
        onlineAgain = () => begin(false);
        window.addEventListener("online", onlineAgain, { once: true });
        return;
      }
      const body = parse(response.getBody());
      const why = (body && body.detail) || "no detail";
      ui.failed(`${response.getStatus()} ${(body && body.error) || ""}: ${why}`, response.getStatus());
    },
  });

  function stopWaiting() {
    if (onlineAgain) window.removeEventListener("online", onlineAgain);
    onlineAgain = null;
  }

  function begin(lookUp) {
    stopWaiting();
    if (!lookUp) {
      upload.start();
      return;
    }
    // A record left by an earlier page (same file name, size, date and endpoint) resumes it.
    upload
      .findPreviousUploads()
      .then((previous) => {
        if (previous.length) {
          previous.sort((a, b) => Date.parse(b.creationTime) - Date.parse(a.creationTime));
          upload.resumeFromPreviousUpload(previous[0]);
          resumeCheck = true;
        }
      })
      .catch(() => {})
      .finally(() => upload.start());
  }

  begin(true);
  return {
    cancel() {
      canceled = true;
      stopWaiting();
      // Stops the request and deletes the server's partial upload (tus termination); resolves
      // to whether the server confirmed it.
      return upload.abort(true).then(
        () => true,
        () => false,
      );
    },
    retry() {
      upload.abort(false).finally(() => begin(false));
    },
  };
}

/** The plain multipart upload (POST /upload), when tus is not available. */
export function sendMultipart(job, ui) {
  const xhr = new XMLHttpRequest();
  xhr.open("POST", projectPath(job.project, "/upload") + query({ source: sourceParam(job.source) }));
  xhr.responseType = "text";
  xhr.setRequestHeader("Accept", "application/json");
  xhr.upload.onprogress = (event) => {
    if (event.lengthComputable) ui.progress(event.loaded, event.total);
  };
  xhr.onload = () => {
    const body = parse(xhr.responseText);
    if (xhr.status === 200 && body && body.status) ui.done(body);
    else {
      const why = (body && body.detail) || xhr.statusText || "no answer";
      ui.failed(`${xhr.status} ${body && body.error ? body.error : ""}: ${why}`, xhr.status);
    }
  };
  xhr.onerror = () => ui.failed("network error: the connection was lost", 0);
  const form = new FormData();
  form.append("file", job.file, job.file.name); // a File streams from disk; never read into memory
  xhr.send(form);
  return {
    cancel() {
      xhr.onload = xhr.onerror = null;
      xhr.abort();
      return Promise.resolve(true); // the server drops an unfinished multipart body
    },
    retry: null,
  };
}
