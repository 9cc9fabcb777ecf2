// Health, the LAN address, and source roots: list, register, enable/disable, pick one.
import { $, api, el, emit, say, state } from "./api.js";

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
  $("health-text").textContent = `${health.status} · v${health.version}`;
  $("lan-url").textContent = health.lan_url || location.origin;
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

/** `GET /api/sources` is a list; a corrupt registry shows up in `/health.registry_error`. */
function renderSources(sources) {
  $("source-list").replaceChildren(
    ...sources.map((s) =>
      el(
        "li",
        {},
        el(
          "div",
          { class: "source-line" },
          el("strong", {}, s.name),
          accessText(s),
          s.name === "primary"
            ? null
            : el(
                "button",
                {
                  type: "button",
                  onclick: () => toggle(s),
                  "aria-label": `${s.enabled ? "Disable" : "Enable"} source ${s.name}`,
                },
                s.enabled ? "Disable" : "Enable",
              ),
        ),
        el("div", { class: "muted" }, s.root || ""),
        el("div", { class: "muted" }, watchText(s.watch)),
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
    say(
      "source-message",
      `Registered ${made.name}${made.accessible ? "" : " (not accessible yet: check the mount)"}.`,
      made.accessible ? "ok" : "warn",
    );
    $("source-form").reset();
    $("src-enabled").checked = true;
    await Promise.all([loadSources(), loadHealth()]);
  } catch (error) {
    say("source-message", `Not registered: ${error.message}`, "bad");
  }
}

export function initStatus() {
  $("source-form").addEventListener("submit", register);
  $("source-select").addEventListener("change", (event) => emit("choose-source", event.target.value));
}
