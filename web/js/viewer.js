// The media viewer dialog: play video (Range-streamed), show images full size, audio, metadata.
import { $, bytes, duration, el, when } from "./api.js";
import { filmstrip, mediaRoute } from "./scrub.js";
import { clearTimeline, showTimeline } from "./timeline.js";

// Image types Chromium, Safari and Firefox all draw; others (HEIC, DNG, TIFF) show the JPEG preview.
const DRAWABLE = new Set(["image/jpeg", "image/png", "image/gif", "image/webp"]);

function facts(item) {
  const size = item.width && item.height ? `${item.width} × ${item.height}` : "";
  const captured = item.captured_at
    ? `${when(item.captured_at)}${item.captured_from ? ` (from ${item.captured_from})` : ""}`
    : "";
  return [
    ["Path", item.relative_path],
    ["Tags", (item.tags || []).join(", ")],
    ["Derived tags", (item.derived_tags || []).join(", ")],
    ["Kind", `${item.kind || "?"} · ${item.mime || "?"}`],
    ["Size", bytes(item.size)],
    ["Dimensions", size],
    ["Duration", duration(item.duration)],
    ["Video codec", item.video_codec],
    ["Frame rate", item.frame_rate ? `${Number(item.frame_rate).toFixed(3).replace(/\.?0+$/, "")} fps` : ""],
    ["Audio codec", item.audio_codec],
    ["Rotation", item.rotation ? `${item.rotation}°` : ""],
    ["Captured", captured],
    ["Uploaded", when(item.uploaded_at)],
    ["Metadata", item.meta_status ? `${item.meta_status}${item.meta_error ? `: ${item.meta_error}` : ""}` : ""],
    ["SHA-256", item.sha256],
    ["BLAKE3", item.blake3],
  ].filter(([, value]) => value);
}

function note(text) {
  $("viewer-note").hidden = !text;
  $("viewer-note").textContent = text || "";
}

// What every current browser plays as it is (the server's rule too: /previews/ answers these
// with the original). Anything else is tried only if this browser says it plays it for sure.
const PLAYS = new Set(["video/mp4", "video/x-m4v", "video/webm"]);
const CODECS = new Set(["h264", "vp8", "vp9", "av1"]);
const PROBES = {
  h264: 'video/mp4; codecs="avc1.640028"',
  hevc: 'video/mp4; codecs="hvc1.1.6.L120.90"',
  prores: 'video/quicktime; codecs="apcn"',
};

function browserPlays(item, video) {
  if (!item.video_codec) return true; // metadata not read yet: try, a failure asks for a preview
  if (PLAYS.has(item.mime) && CODECS.has(item.video_codec)) return true;
  const probe = PROBES[item.video_codec];
  return Boolean(probe) && video.canPlayType(probe) === "probably";
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Play the server's H.264 preview instead, saying while it is being made (202 answers). */
async function usePreview(video, item) {
  if (video.dataset.source === "preview") return;
  video.dataset.source = "preview";
  video.removeAttribute("src");
  const url = mediaRoute("previews", item.sha256, "mp4");
  const open = () => shown === item.relative_path && video.isConnected;
  await null; // the video is put on the stage right after stage() returns
  note("Preparing a preview this browser can play…");
  while (open()) {
    let response;
    try {
      response = await fetch(url, { credentials: "same-origin", headers: { Prefer: "wait=5", Range: "bytes=0-0" } });
    } catch (error) {
      if (open()) note(`Could not ask for a browser preview (${error.message}); use Download.`);
      return;
    }
    if (response.status === 202) {
      const body = await response.json().catch(() => ({}));
      const done = body.status === "making" ? ` ${Math.round((body.progress || 0) * 100)}%` : " (waiting for its turn)";
      if (open()) note(`Preparing a preview this browser can play…${done}`);
      await sleep(1000 * (body.retry_after || 2));
      continue;
    }
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      if (open()) note(`No browser preview of this file: ${body.detail || `HTTP ${response.status}`}. Use Download.`);
      return;
    }
    await response.body?.cancel();
    if (!open()) return;
    video.src = url;
    video.dataset.preview = "ready";
    note("Playing a preview (H.264, at most 720p): this browser cannot play the original. Download keeps the original.");
    return;
  }
}

function stage(item) {
  if (item.kind === "video") {
    const video = el("video", { controls: true, preload: "metadata", playsinline: true, "aria-label": `Video ${item.name}` });
    if (browserPlays(item, video)) {
      video.dataset.source = "original";
      video.src = item.stream_url;
      // Not playable after all (an error, or HEVC decoded as sound only): ask for a preview.
      video.addEventListener("error", () => usePreview(video, item));
      video.addEventListener("loadedmetadata", () => video.videoWidth || usePreview(video, item));
    } else {
      usePreview(video, item);
    }
    video.addEventListener("error", () => {
      if (video.dataset.preview === "ready") note("This browser cannot play the preview either; use Download.");
    });
    return [video, filmstrip(item, video)];
  }
  if (item.kind === "audio") {
    const audio = el("audio", { controls: true, preload: "metadata", src: item.stream_url, "aria-label": `Audio ${item.name}` });
    audio.addEventListener("error", () => note(`This browser cannot play ${item.mime}; use Download.`));
    return audio;
  }
  if (item.kind === "image") {
    if (DRAWABLE.has(item.mime) || !item.thumb_url) {
      return el("img", { src: item.stream_url, alt: item.name });
    }
    note(`Browsers cannot draw ${item.mime} files; this is the server's preview. Download for the original.`);
    return el("img", { src: item.thumb_url, alt: `${item.name} (preview)` });
  }
  return el("p", { class: "muted" }, "No preview for this file.");
}

let shown = null; // relative_path of the item in the open viewer

function renderFacts(item) {
  $("viewer-meta").replaceChildren(...facts(item).flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, String(v))]));
}

/** New metadata for the open item (from a live event) updates the facts, not the playing media. */
export function updateViewer(item) {
  if ($("viewer").open && shown === item.relative_path) {
    renderFacts(item);
    showTimeline(item, { keep: true }); // metadata and thumbnail are steps of it too
  }
}

export function openViewer(item) {
  const dialog = $("viewer");
  shown = item.relative_path;
  note("");
  $("viewer-title").textContent = item.name;
  $("viewer-download").href = item.download_url;
  $("viewer-download").setAttribute("download", item.name);
  $("viewer-stage").replaceChildren(...[stage(item)].flat());
  renderFacts(item);
  if (!dialog.open) dialog.showModal();
  showTimeline(item);
  $("viewer-close").focus();
}

function closeViewer() {
  const dialog = $("viewer");
  for (const media of $("viewer-stage").querySelectorAll("video, audio")) {
    media.pause();
    media.removeAttribute("src");
    media.load(); // drops the open Range stream
  }
  $("viewer-stage").replaceChildren();
  clearTimeline();
  shown = null;
  if (dialog.open) dialog.close();
}

export function initViewer() {
  $("viewer-close").addEventListener("click", closeViewer);
  $("viewer").addEventListener("close", closeViewer);
  $("viewer").addEventListener("click", (event) => {
    if (event.target === $("viewer")) closeViewer(); // click on the backdrop
  });
}
