// The status badge and its sheet: health, the LAN address, and source roots: list, register,
// enable/disable, relocation (switch + dry run), remove, pick one.
import { $, api, el, emit, say, state } from "./api.js";
import { showFolders } from "./folders.js";

function watchText(watch) {
  if (!watch) return "watch: unknown";
  return `watch: ${watch.mode}${watch.reason ? ` (${watch.reason})` : ""}`;
}

function accessText(source) {
  if (!source.enabled) return el("span", { class: "muted" }, "disabled");
  return source.accessible
    ? el("span", { class: "ok" }, "accessible")
    : el("span", { class: "bad" }, `not accessible${source.error ? `: ${source.error}` : ""}`);
}

function renderHealth(health) {
  const ok = health.ok === true && health.status === "ok";
  $("health-pill").className = `pill ${ok ? "on" : "warn"}`;
  $("health-text").textContent = health.status;
  $("status-badge").title = `media-sync ${health.version}: ${health.status}. Status, sources, the phone address and help`;
  $("lan-url").textContent = health.lan_url || location.origin;
  $("lan-note").hidden = !health.lan_url_note; // e.g. in a container: what to set instead
  $("lan-note").textContent = health.lan_url_note || "";
  const catalog = health.catalog || {};
  const facts = [
    ["Status", health.status],
    ["Version", health.version],
    ["Catalog", catalog.ok === false ? `error: ${catalog.error || "?"}` : "ok"],
    ["Max upload", health.max_upload_mb ? `${health.max_upload_mb} MiB` : "?"],
  ];
  if (health.daemon) facts.push(["Daemon", health.daemon.running ? "running" : "not running"]);
  $("registry-error").hidden = !health.registry_error;
  $("registry-error").textContent = health.registry_error ? `Registry error: ${health.registry_error}` : "";
  $("status-facts").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  $("status-sources").replaceChildren(
    ...(health.sources || []).map((s) =>
      el(
        "li",
        {},
        el("div", { class: "source-line" }, el("strong", {}, s.name), accessText(s)),
        el("div", { class: "muted" }, s.root || ""),
        el("div", { class: "muted" }, watchText(s.watch)),
      ),
    ),
  );
}

export async function loadHealth() {
  try {
    state.health = await api("/health");
    renderHealth(state.health);
    emit("health", state.health);
    const folders = await showFolders(state.health);
    $("badge-alert").hidden = !folders && !state.health.registry_error;
  } catch (error) {
    $("health-pill").className = "pill bad";
    $("health-text").textContent = `unreachable (${error.message})`;
  }
}

async function toggle(source) {
  const enabled = !source.enabled;
  try {
    await api(`/api/sources/${encodeURIComponent(source.name)}/toggle`, {
      method: "POST",
      params: { enabled },
    });
    say("source-message", `${source.name} ${enabled ? "enabled" : "disabled"}.`, "ok");
    await Promise.all([loadSources(), loadHealth()]);
  } catch (error) {
    say("source-message", `Could not change ${source.name}: ${error.message}`, "bad");
  }
}

// ---- relocation: what it would move (a dry run), the switch, and removal ----

/** The last dry run seen per source (from registering, switching or "Preview"). */
const dryRuns = new Map();
const MOVES_SHOWN = 20;

function sourcePath(source, suffix = "") {
  return `/api/sources/${encodeURIComponent(source.name)}${suffix}`;
}

function dryRunView(source) {
  const run = dryRuns.get(source.name);
  if (!run) return null;
  if (run.error) return el("div", { class: "bad small" }, `Dry run: ${run.error}`);
  const moves = run.moves || [];
  const more = run.would_move - Math.min(moves.length, MOVES_SHOWN);
  return el(
    "details",
    { class: "small" },
    el("summary", {}, `Dry run: ${run.would_move} file(s) would move`),
    el(
      "ul",
      { class: "list small" },
      moves.slice(0, MOVES_SHOWN).map((m) => el("li", {}, `${m.from} → ${m.to}`)),
      more > 0 ? el("li", { class: "muted" }, `… and ${more} more`) : null,
    ),
  );
}

async function preview(source) {
  try {
    const answer = await api(sourcePath(source, "/relocation"));
    dryRuns.set(source.name, answer.dry_run);
    const n = answer.dry_run.would_move;
    say("source-message", `${source.name}: relocation would move ${n} file(s); nothing was changed.`, "ok");
    await loadSources();
  } catch (error) {
    say("source-message", `No dry run for ${source.name}: ${error.message}`, "bad");
  }
}

/** Switching relocation on asks first, showing what the dry run says would move. */
async function setRelocate(source, enabled, input) {
  try {
    if (enabled) {
      const answer = await api(sourcePath(source, "/relocation"));
      dryRuns.set(source.name, answer.dry_run);
      const n = answer.dry_run.would_move || 0;
      const ask = `Let media-sync move loose media in ${source.name} (${source.root}) into Unsorted-Loose/?\n${n} file(s) would move now, more as they appear.`;
      if (!window.confirm(ask)) {
        input.checked = false;
        await loadSources();
        return;
      }
    }
    const answer = await api(sourcePath(source, "/relocate"), { method: "POST", params: { enabled } });
    dryRuns.set(source.name, answer.dry_run);
    say("source-message", `Relocation ${enabled ? "on" : "off"} for ${source.name}.`, "ok");
  } catch (error) {
    say("source-message", `Could not switch relocation for ${source.name}: ${error.message}`, "bad");
  }
  await loadSources();
}

async function removeSource(source) {
  const ask = `Remove source ${source.name}?\nIts files stay on disk at ${source.root}; only its catalog entries are dropped.`;
  if (!window.confirm(ask)) return;
  try {
    const answer = await api(sourcePath(source), { method: "DELETE" });
    dryRuns.delete(source.name);
    say("source-message", `Removed ${source.name} (${answer.catalog_files_removed} catalog entries); its files were left as they are.`, "ok");
    if (state.source === source.name) emit("choose-source", "primary");
    await Promise.all([loadSources(), loadHealth()]);
  } catch (error) {
    say("source-message", `Could not remove ${source.name}: ${error.message}`, "bad");
  }
}

function relocateSwitch(source) {
  const input = el("input", {
    type: "checkbox",
    role: "switch",
    checked: source.relocate === true,
    "aria-label": `Relocate loose media in source ${source.name}`,
  });
  input.addEventListener("change", () => setRelocate(source, input.checked, input));
  return el("label", { class: "inline small" }, input, el("span", {}, "Relocate loose media"));
}

function sourceButtons(s) {
  const button = (label, onclick, aria) => el("button", { type: "button", onclick, "aria-label": aria }, label);
  if (s.name === "primary") return [button("Preview", () => preview(s), `Dry run of relocation in ${s.name}`)];
  return [
    button(s.enabled ? "Disable" : "Enable", () => toggle(s), `${s.enabled ? "Disable" : "Enable"} source ${s.name}`),
    button("Preview", () => preview(s), `Dry run of relocation in ${s.name}`),
    button("Remove", () => removeSource(s), `Remove source ${s.name}`),
  ];
}

/** `GET /api/sources` is a list; a corrupt registry shows up in `/health.registry_error`. */
function renderSources(sources) {
  $("source-list").replaceChildren(
    ...sources.map((s) =>
      el(
        "li",
        {},
        el("div", { class: "source-line" }, el("strong", {}, s.name), accessText(s), ...sourceButtons(s)),
        el("div", { class: "muted" }, s.root || ""),
        el("div", { class: "muted" }, watchText(s.watch)),
        relocateSwitch(s),
        dryRunView(s),
      ),
    ),
  );
  const select = $("source-select");
  const usable = sources.filter((s) => s.enabled || s.name === state.source);
  select.replaceChildren(
    ...usable.map((s) =>
      el("option", { value: s.name, selected: s.name === state.source }, s.accessible ? s.name : `${s.name} (offline)`),
    ),
  );
  if (!usable.some((s) => s.name === state.source)) {
    select.append(el("option", { value: state.source, selected: true }, state.source));
  }
  $("source-pick").hidden = select.options.length < 2; // one source: nothing to pick
}

export async function loadSources() {
  try {
    renderSources(await api("/api/sources"));
  } catch (error) {
    say("source-message", `Could not list sources: ${error.message}`, "bad");
  }
}

async function register(event) {
  event.preventDefault();
  const body = {
    name: $("src-name").value.trim(),
    root: $("src-root").value.trim(),
    enabled: $("src-enabled").checked,
  };
  try {
    const made = await api("/api/sources", { method: "POST", body });
    if (made.dry_run) dryRuns.set(made.name, made.dry_run);
    const moves = made.dry_run && !made.dry_run.error ? made.dry_run.would_move : 0;
    const note = moves ? ` Relocation is off: ${moves} loose file(s) stay where they are until you switch it on.` : "";
    say(
      "source-message",
      `Registered ${made.name}${made.accessible ? "" : " (not accessible yet: check the mount)"}.${note}`,
      made.accessible ? "ok" : "warn",
    );
    $("source-form").reset();
    $("src-enabled").checked = true;
    await Promise.all([loadSources(), loadHealth()]);
  } catch (error) {
    say("source-message", `Not registered: ${error.message}`, "bad");
  }
}

/** Open the status sheet (the badge's tap), optionally scrolled to one of its sections. */
export function openStatus(sectionId = "") {
  const sheet = $("status-sheet");
  if (!sheet.open) sheet.showModal();
  $("status-badge").setAttribute("aria-expanded", "true");
  if (sectionId) $(sectionId).scrollIntoView({ block: "start" });
  loadHealth();
  loadSources();
}

export function initStatus() {
  const sheet = $("status-sheet");
  $("status-badge").setAttribute("aria-expanded", "false");
  $("status-badge").addEventListener("click", () => openStatus());
  $("status-close").addEventListener("click", () => sheet.close());
  sheet.addEventListener("close", () => $("status-badge").setAttribute("aria-expanded", "false"));
  sheet.addEventListener("click", (event) => {
    const box = sheet.getBoundingClientRect(); // a tap on the backdrop, outside the sheet
    const inside = event.clientX >= box.left && event.clientX <= box.right && event.clientY >= box.top && event.clientY <= box.bottom;
    if (event.target === sheet && !inside) sheet.close();
  });
  $("unadopted-review").addEventListener("click", () => openStatus("folders"));
  $("source-form").addEventListener("submit", register);
  $("source-select").addEventListener("change", (event) => emit("choose-source", event.target.value));
}
