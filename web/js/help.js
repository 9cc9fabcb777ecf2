// Copy-paste help: curl examples and the iPhone Shortcut recipe, filled in with this server and project.
import { $, copyButton, el, sourceParam, state } from "./api.js";

function shellQuote(text) {
  return `'${String(text).replace(/'/g, "'\\''")}'`;
}

// With MEDIA_SYNC_API_TOKEN set, every curl carries the token (put yours in $TOKEN).
function auth() {
  return state.tokenRequired ? `-H "Authorization: Bearer $TOKEN" ` : "";
}

function snippets(base, project, source) {
  const p = encodeURIComponent(project);
  const q = sourceParam(source) ? `?source=${encodeURIComponent(source)}` : "";
  const upload = `${base}/api/projects/${p}/upload${q}`;
  const created = JSON.stringify({ name: "New Project", notes: "shot on iPhone" });
  return withToken([
    ["List projects", `curl ${shellQuote(`${base}/api/projects${q}`)}`],
    [
      "Create a project (becomes P{n}-New-Project)",
      `curl -X POST -H 'Content-Type: application/json' \\\n  -d ${shellQuote(created)} ${shellQuote(`${base}/api/projects${q}`)}`,
    ],
    ["Upload a file (multipart field file)", `curl -F file=@clip.mov ${shellQuote(upload)}`],
    ["Upload a file as the raw body", `curl -T clip.mov ${shellQuote(`${base}/api/projects/${p}/files/clip.mov${q}`)}`],
    ["List the project's media", `curl ${shellQuote(`${base}/api/projects/${p}/media${q}`)}`],
    ["Re-scan every source after editing folders by hand", `curl ${shellQuote(`${base}/reindex`)}`],
  ]);
}

function withToken(pairs) {
  return pairs.map(([title, text]) => [title, text.replace(/^curl /, `curl ${auth()}`)]);
}

function recipe(base, project, source) {
  const p = encodeURIComponent(project);
  const q = sourceParam(source) ? `?source=${encodeURIComponent(source)}` : "";
  return [
    `Get Contents of URL: ${base}/api/projects${q} (GET). Choose from the list of each item's name; add “Create New Project”.`,
    `If creating: Ask for Input “Name”, then Get Contents of URL ${base}/api/projects${q}, method POST, Request Body JSON {"name": Name, "notes": ""}. Use the name in the answer (e.g. P3-New-Project).`,
    `Select Photos (multiple) or Find Photos in an album; Ask for Input “EntryLabel”.`,
    `Optional audit: Get Contents of URL ${base}/api/projects/${p}/sync-album${q}, method POST, JSON {"album_name": EntryLabel, "device": "iphone", "note": "Shortcut ingest"}.`,
    `Repeat with each photo/video: Get Contents of URL ${base}/api/projects/${p}/upload${q}, method POST, Request Body Form, field “file” (type File) = Repeat Item.`,
    `Show the “status” of each answer: stored or duplicate. The server de-duplicates; no hashing on the phone.`,
  ].concat(
    state.tokenRequired
      ? [
          `This server needs its token: add ?token=<token> to each URL above (or &token=… after ?source=), or a Header “Authorization” = “Bearer <token>” in each Get Contents of URL.`,
        ]
      : [],
  );
}

function block(title, text) {
  const code = el("pre", {}, el("code", {}, text));
  return el(
    "div",
    { class: "snippet" },
    el("div", { class: "snippet-head" }, el("h3", {}, title), copyButton(() => text)),
    code,
  );
}

export function renderHelp() {
  const base = (state.health && state.health.lan_url) || location.origin;
  const project = state.project || "P1-Example";
  $("help-base").textContent = base;
  const steps = recipe(base, project, state.source);
  $("help-snippets").replaceChildren(
    ...snippets(base, project, state.source).map(([title, text]) => block(title, text)),
    el(
      "div",
      { class: "snippet" },
      el(
        "div",
        { class: "snippet-head" },
        el("h3", {}, `iPhone Shortcut recipe for ${project}`),
        copyButton(() => steps.map((s, i) => `${i + 1}. ${s}`).join("\n")),
      ),
      el("ol", { class: "recipe small" }, ...steps.map((s) => el("li", {}, s))),
    ),
  );
}
