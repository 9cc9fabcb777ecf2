// The media viewer dialog: play video (Range-streamed), show images full size, audio, metadata.
import { $, bytes, duration, el, when } from "./api.js";

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

function stage(item) {
  if (item.kind === "video") {
    const video = el("video", {
      controls: true,
      preload: "metadata",
      playsinline: true,
      src: item.stream_url,
      "aria-label": `Video ${item.name}`,
    });
    video.addEventListener("error", () =>
      note(`This browser cannot play this file (${item.video_codec || item.mime}); use Download.`),
    );
    return video;
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
  if ($("viewer").open && shown === item.relative_path) renderFacts(item);
}

export function openViewer(item) {
  const dialog = $("viewer");
  shown = item.relative_path;
  note("");
  $("viewer-title").textContent = item.name;
  $("viewer-download").href = item.download_url;
  $("viewer-download").setAttribute("download", item.name);
  $("viewer-stage").replaceChildren(stage(item));
  renderFacts(item);
  if (!dialog.open) dialog.showModal();
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
