// Scrub strips: a video's frames from its sprite sheet and WebVTT track (`/scrub/...`), shown
// while the pointer moves (or a finger drags) across a video card, and as a filmstrip of
// buttons under the video in the viewer.
import { duration, el, query, sourceParam, state } from "./api.js";

const strips = new Map(); // `${source}/${project}/${sha256}` -> Promise<strip | null>
const FILMSTRIP = 12; // buttons under the viewer's video
const TRIES = 60; // 202 answers to sit through (each says how long to wait) before giving up

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** `/scrub/{project}/{sha256}.vtt` (or any other kind of file of the media routes). */
export function mediaRoute(kind, sha256, ext) {
  const project = encodeURIComponent(state.project);
  return `/${kind}/${project}/${sha256}.${ext}${query({ source: sourceParam(state.source) })}`;
}

function seconds(stamp) {
  const parts = stamp.trim().split(":").map(Number);
  return parts.reduce((total, part) => total * 60 + part, 0);
}

/** Cues of a WebVTT thumbnails track: `{start, end, url, x, y, w, h}`, URLs made absolute. */
export function parseTrack(text, base) {
  const cues = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    const lines = block.split(/\r?\n/);
    const at = lines.findIndex((line) => line.includes("-->"));
    if (at < 0 || !lines[at + 1] || !lines[at + 1].includes("#xywh=")) continue;
    const [from, to] = lines[at].split("-->");
    const [url, box] = lines[at + 1].trim().split("#xywh=");
    const [x, y, w, h] = box.split(",").map(Number);
    cues.push({ start: seconds(from), end: seconds(to), url: new URL(url, base).href, x, y, w, h });
  }
  return cues;
}

function picture(url) {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => resolve(image);
    image.onerror = () => reject(new Error("sprite did not load"));
    image.src = url;
  });
}

async function fetchStrip(sha256) {
  const url = new URL(mediaRoute("scrub", sha256, "vtt"), location.href).href;
  for (let attempt = 0; attempt < TRIES; attempt += 1) {
    const response = await fetch(url, { credentials: "same-origin", headers: { Prefer: "wait=10" } });
    if (response.status === 202) {
      const body = await response.json().catch(() => ({}));
      await sleep(1000 * (body.retry_after || 1));
      continue;
    }
    if (!response.ok) return null;
    const cues = parseTrack(await response.text(), url);
    if (!cues.length) return null;
    const sprite = await picture(cues[0].url);
    return { cues, width: sprite.naturalWidth, height: sprite.naturalHeight, end: cues[cues.length - 1].end };
  }
  return null;
}

/** The strip of a video item (fetched once per page; null when it has none). */
export function loadStrip(item) {
  const key = `${state.source}/${state.project}/${item.sha256}`;
  if (!strips.has(key)) strips.set(key, fetchStrip(item.sha256).catch(() => null));
  return strips.get(key);
}

export function cueAt(strip, time) {
  const index = strip.cues.findIndex((cue) => time < cue.end);
  return index < 0 ? strip.cues.length - 1 : index;
}

/** Paint cue ``index`` of ``strip`` into ``node`` (a box of ``boxW`` x ``boxH`` px), covering it. */
export function paint(node, strip, index, boxW, boxH, cover = true) {
  const cue = strip.cues[index];
  const scale = (cover ? Math.max : Math.min)(boxW / cue.w, boxH / cue.h);
  Object.assign(node.style, {
    width: `${cue.w * scale}px`,
    height: `${cue.h * scale}px`,
    backgroundImage: `url("${cue.url}")`,
    backgroundSize: `${strip.width * scale}px ${strip.height * scale}px`,
    backgroundPosition: `${-cue.x * scale}px ${-cue.y * scale}px`,
  });
  node.dataset.cue = String(index);
}

/** Hovering or dragging across a video card's picture shows the frame at that point. */
export function attachScrub(button, item) {
  let strip = null;
  let last = null; // the latest pointer position, drawn once the strip arrives
  let frame = null; // made on the first hover: a grid of 10,000 cards makes none up front
  let bar = null;

  const show = () => {
    if (!strip || last === null) return;
    if (!frame) {
      frame = el("span", { class: "scrub-frame", "aria-hidden": "true" });
      bar = el("span", { class: "scrub-bar", "aria-hidden": "true" });
    }
    if (!frame.isConnected) button.append(frame, bar); // a refreshed thumbnail replaced them
    const box = button.getBoundingClientRect();
    const fraction = Math.min(1, Math.max(0, (last - box.left) / box.width));
    paint(frame, strip, cueAt(strip, fraction * strip.end), box.width, box.height);
    bar.style.width = `${fraction * 100}%`;
    frame.hidden = bar.hidden = false;
    const card = button.closest(".card");
    if (card) card.dataset.scrub = frame.dataset.cue;
  };
  const start = (event) => {
    last = event.clientX;
    loadStrip(item).then((loaded) => {
      strip = loaded;
      show();
    });
  };
  const move = (event) => {
    last = event.clientX;
    show();
  };
  const hide = () => {
    last = null;
    if (frame) frame.hidden = bar.hidden = true;
    const card = button.closest(".card");
    if (card) delete card.dataset.scrub;
  };
  button.addEventListener("pointerenter", start);
  button.addEventListener("pointerdown", start);
  button.addEventListener("pointermove", move);
  button.addEventListener("pointerleave", hide);
  button.addEventListener("pointercancel", hide);
}

/** Buttons under the viewer's video, one a stretch of the clip: a click jumps there. */
export function filmstrip(item, video) {
  const strip = el("div", { class: "filmstrip", role: "group", "aria-label": `Frames of ${item.name}`, hidden: true });
  loadStrip(item).then((loaded) => {
    if (!loaded || !strip.isConnected) return;
    const step = Math.max(1, Math.ceil(loaded.cues.length / FILMSTRIP));
    const buttons = [];
    for (let index = 0; index < loaded.cues.length; index += step) {
      const cue = loaded.cues[index];
      const face = el("span", { class: "film-frame", "aria-hidden": "true" });
      paint(face, loaded, index, 80, 45, false);
      const button = el("button", { type: "button", "aria-label": `Jump to ${duration(cue.start)}`, dataset: { start: String(cue.start) } }, face);
      button.addEventListener("click", () => {
        video.currentTime = cue.start;
      });
      buttons.push(button);
    }
    strip.replaceChildren(...buttons);
    strip.hidden = false;
    video.addEventListener("timeupdate", () => {
      const here = buttons.findLast((button) => Number(button.dataset.start) <= video.currentTime);
      for (const button of buttons) button.classList.toggle("here", button === here);
    });
  });
  return strip;
}
