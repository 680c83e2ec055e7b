// The console's views: sign-in, APIs (routes, stages, deployments; deploy
// and roll back), API keys (create, disable) and usage plans (usage per key
// per day). Everything is built with DOM calls and textContent (no HTML
// strings), so no value from the API is ever parsed as markup.

import { ApiError, call, idOf, listAll, setToken, token } from "./api.js";
import { usageChart } from "./chart.js";
import { stageMetrics } from "./metrics.js";

// How often the live metrics of a stage are refreshed.
const METRICS_INTERVAL_MS = 5000;
let metricsTimer = 0;

const $ = (id) => document.getElementById(id);

/** el builds an element: attributes ("on…" keys are event listeners), then children. */
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

/** fill appends children to parent, as el does (arrays flattened, null skipped). */
function fill(parent, ...children) {
  parent.append(...el("div", {}, ...children).childNodes);
}

function table(headers, rows) {
  return el("table", {},
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", {}, h)))),
    el("tbody", {}, rows.length ? rows : el("tr", {}, el("td", { colspan: headers.length, class: "muted" }, "none"))));
}

function showMessage(text, isError = false) {
  const m = $("message");
  m.textContent = text;
  m.className = isError ? "error" : "";
  m.hidden = !text;
}

function describeError(err) {
  if (!(err instanceof ApiError)) return String(err);
  const fields = err.details.flatMap((d) => (d.fieldViolations || []).map((v) => `${v.field}: ${v.description}`));
  return [err.message, ...fields].join("; ");
}

/** run awaits an action, showing its error if it fails. */
async function run(action) {
  try {
    await action();
  } catch (err) {
    if (err instanceof ApiError && err.httpStatus === 401) {
      setToken("");
      showSignIn("The admin API refused the token: sign in again.");
      return;
    }
    showMessage(describeError(err), true);
  }
}

function formatTime(ts) {
  return ts ? ts.replace("T", " ").replace(/\.\d+Z$/, "Z") : "";
}

function routeMatch(r) {
  if (r.grpcMethod) return r.grpcMethod;
  if (r.http) return `${r.http.method || "ANY"} ${r.http.path}`;
  if (r.websocketRouteKey) return `WebSocket ${r.websocketRouteKey}`;
  return "";
}

// ---- Sign-in ----

function showSignIn(text = "") {
  $("nav").hidden = true;
  $("view").hidden = true;
  $("sign-in").hidden = false;
  showMessage(text, Boolean(text));
  $("token").focus();
}

async function signIn(ev) {
  ev.preventDefault();
  const value = $("token").value.trim();
  setToken(value);
  try {
    await call("GET", "/v1/apis?pageSize=1");
  } catch (err) {
    setToken("");
    $("token").value = "";
    showSignIn(err instanceof ApiError && err.httpStatus === 401 ? "The admin API refused this token." : describeError(err));
    return;
  }
  $("token").value = "";
  showMessage("");
  if (location.hash === "#/apis") render();
  else location.hash = "#/apis";
}

function signOut() {
  setToken("");
  location.hash = "";
  showSignIn("Signed out.");
}

// ---- Views ----

async function apisView(view) {
  const apis = await listAll("/v1/apis", "apis");
  view.append(el("h2", {}, "APIs"), table(["Name", "Display name", "Protocol", "Description"],
    apis.map((a) => el("tr", {},
      el("td", {}, el("a", { href: `#/apis/${idOf(a.name)}`, class: "api-link" }, a.name)),
      el("td", {}, a.displayName || ""), el("td", {}, a.protocol || ""), el("td", {}, a.description || "")))));
}

async function apiView(view, apiID) {
  const parent = `apis/${encodeURIComponent(apiID)}`;
  const [api, routes, stages, deployments] = await Promise.all([
    call("GET", `/v1/${parent}`),
    listAll(`/v1/${parent}/routes`, "routes"),
    listAll(`/v1/${parent}/stages`, "stages"),
    listAll(`/v1/${parent}/deployments`, "deployments"),
  ]);
  deployments.sort((a, b) => (b.createTime || "").localeCompare(a.createTime || ""));

  const deploy = (stage) => run(async () => {
    const d = await call("POST", `/v1/${parent}/deployments`, { description: `Deployed to ${idOf(stage.name)} from the console` });
    await call("PATCH", `/v1/${stage.name}`, { deployment: d.name });
    await render();
    showMessage(`Stage ${stage.name} now serves ${d.name}.`);
  });
  const rollBack = (stage, select) => run(async () => {
    if (!select.value) return;
    await call("PATCH", `/v1/${stage.name}`, { deployment: select.value });
    await render();
    showMessage(`Stage ${stage.name} rolled back to ${select.value}.`);
  });

  fill(view,
    el("p", {}, el("a", { href: "#/apis" }, "← APIs")),
    el("h2", {}, api.displayName ? `${api.name} — ${api.displayName}` : api.name),
    api.description ? el("p", {}, api.description) : null,
    el("h3", {}, "Stages"),
    table(["Stage", "Serving", "Deploy", "Roll back to"], stages.map((s) => {
      const id = idOf(s.name);
      const select = el("select", { id: `rollback-select-${id}` },
        el("option", { value: "" }, "choose a deployment"),
        deployments.filter((d) => d.name !== s.deployment).map((d) =>
          el("option", { value: d.name }, `${idOf(d.name)} (${formatTime(d.createTime)})`)));
      return el("tr", { "data-stage": s.name },
        el("td", {}, s.name),
        el("td", { class: "mono serving" }, s.deployment || ""),
        el("td", {}, el("button", { type: "button", id: `deploy-${id}`, onclick: () => deploy(s) }, "Deploy current routes")),
        el("td", {}, select, " ", el("button", { type: "button", id: `rollback-${id}`, onclick: () => rollBack(s, select) }, "Roll back")));
    })),
    el("h3", {}, "Live metrics"),
    el("p", { class: "muted" }, "Calls through each stage since the gateway started, per route, refreshed every 5 s."),
    stages.map((s) => el("div", { class: "stage-metrics", id: `metrics-${idOf(s.name)}`, "data-stage": s.name },
      el("h4", {}, s.name), el("p", { class: "muted" }, "loading…"))),
    el("h3", {}, "Routes"),
    table(["Route", "Match", "API key", "Description"], routes.map((r) => el("tr", {},
      el("td", {}, idOf(r.name)), el("td", { class: "mono" }, routeMatch(r)),
      el("td", {}, r.apiKeyRequired ? "required" : ""), el("td", {}, r.description || "")))),
    el("h3", {}, "Deployments"),
    table(["Deployment", "Created", "Description"], deployments.map((d) => el("tr", {},
      el("td", { class: "mono" }, d.name), el("td", {}, formatTime(d.createTime)), el("td", {}, d.description || "")))),
  );
}

/** refreshMetrics redraws the live metrics tables of the stages in view. */
async function refreshMetrics(view, previous) {
  const current = new Map();
  for (const box of view.querySelectorAll(".stage-metrics")) {
    const stage = box.dataset.stage;
    let rows;
    try {
      rows = await stageMetrics(stage);
    } catch (err) {
      box.replaceChildren(el("h4", {}, stage), el("p", { class: "muted" }, String(err)));
      continue;
    }
    current.set(stage, rows);
    const before = previous.get(stage);
    const tr = [...rows.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([route, m]) => {
      const prev = before?.get(route);
      const rate = prev ? ((m.calls - prev.calls) / (METRICS_INTERVAL_MS / 1000)).toFixed(1) : "";
      const mean = m.durationCount ? (m.durationSum / m.durationCount).toFixed(1) : "";
      return el("tr", { "data-route": route },
        el("td", { class: "mono" }, route), el("td", { class: "calls" }, m.calls), el("td", {}, rate),
        el("td", {}, m.errors4xx), el("td", {}, m.errors5xx), el("td", {}, m.throttled), el("td", {}, mean));
    });
    box.replaceChildren(el("h4", {}, stage),
      table(["Route", "Calls", "Calls/s", "4xx", "5xx", "Throttled", "Mean ms"], tr));
  }
  return current;
}

/** watchMetrics refreshes the view's live metrics until the view is replaced. */
function watchMetrics(view) {
  clearTimeout(metricsTimer);
  if (!view.querySelector(".stage-metrics")) return;
  let previous = new Map();
  const tick = async () => {
    if (!view.isConnected) return;
    previous = await refreshMetrics(view, previous);
    if (view.isConnected) metricsTimer = setTimeout(tick, METRICS_INTERVAL_MS);
  };
  tick();
}

async function keysView(view) {
  const keys = await listAll("/v1/apiKeys", "apiKeys");
  const toggle = (k) => run(async () => {
    const enabled = k.enabled === false;
    await call("PATCH", `/v1/${k.name}`, { enabled });
    await render();
    showMessage(`${k.name} ${enabled ? "enabled" : "disabled"}.`);
  });
  const create = (ev) => {
    ev.preventDefault();
    run(async () => {
      const id = $("key-id").value.trim();
      const body = { displayName: $("key-display-name").value.trim() };
      const key = await call("POST", `/v1/apiKeys${id ? `?apiKeyId=${encodeURIComponent(id)}` : ""}`, body);
      await render();
      // The value is in this response only: show it once, never store it.
      $("view").prepend(el("div", { class: "once", id: "new-key" },
        el("strong", {}, `${key.name} created. `),
        "Copy its value now; it will not be shown again: ",
        el("code", { id: "key-value" }, key.value)));
    });
  };
  view.append(
    el("h2", {}, "API keys"),
    el("form", { class: "inline", id: "create-key-form", onsubmit: create },
      el("label", {}, "ID (optional)", el("input", { id: "key-id", pattern: "[a-z][a-z0-9\\-]{0,62}" })),
      el("label", {}, "Display name", el("input", { id: "key-display-name" })),
      el("button", { type: "submit", id: "create-key" }, "Create key")),
    table(["Key", "Display name", "Customer", "State", "Created", ""], keys.map((k) => el("tr", { "data-key": k.name },
      el("td", { class: "mono" }, k.name), el("td", {}, k.displayName || ""), el("td", {}, k.customerId || ""),
      el("td", { class: "state" }, k.enabled === false ? "disabled" : "enabled"),
      el("td", {}, formatTime(k.createTime)),
      el("td", {}, el("button", { type: "button", id: `toggle-${idOf(k.name)}`, onclick: () => toggle(k) },
        k.enabled === false ? "Enable" : "Disable"))))),
  );
}

async function plansView(view) {
  const plans = await listAll("/v1/usagePlans", "usagePlans");
  view.append(el("h2", {}, "Usage plans"), table(["Plan", "Stages", "Throttle", "Quota"], plans.map((p) => el("tr", {},
    el("td", {}, el("a", { href: `#/plans/${idOf(p.name)}`, class: "plan-link" }, p.name)),
    el("td", {}, (p.apiStages || []).map((s) => s.stage).join(", ")),
    el("td", {}, p.throttle ? `${p.throttle.rateLimit ?? 0}/s, burst ${p.throttle.burstLimit ?? 0}` : ""),
    el("td", {}, p.quota ? `${p.quota.limit} per ${(p.quota.period || "").replace("PERIOD_", "").toLowerCase()}` : "")))));
}

function isoDay(d) {
  return d.toISOString().slice(0, 10);
}

async function planView(view, planID) {
  const name = `usagePlans/${encodeURIComponent(planID)}`;
  const end = new Date();
  const start = new Date(end.getTime() - 13 * 86400e3);
  const plan = await call("GET", `/v1/${name}`);
  const items = [];
  let pageToken = "";
  do {
    const q = new URLSearchParams({ startDate: isoDay(start), endDate: isoDay(end) });
    if (pageToken) q.set("pageToken", pageToken);
    const page = await call("GET", `/v1/${name}/usage?${q}`);
    items.push(...(page.items || []));
    pageToken = page.nextPageToken || "";
  } while (pageToken);

  fill(view,
    el("p", {}, el("a", { href: "#/plans" }, "← Usage plans")),
    el("h2", {}, plan.displayName ? `${plan.name} — ${plan.displayName}` : plan.name),
    el("p", { class: "muted" }, `Calls per key per UTC day, ${isoDay(start)} to ${isoDay(end)}.`),
    items.length ? null : el("p", { id: "no-usage" }, "No API keys in this plan."),
    items.map((u) => {
      const total = (u.days || []).reduce((n, d) => n + Number(d.calls || 0), 0);
      const remaining = Number(u.remainingQuota ?? -1);
      return el("section", { class: "key-usage", "data-key": u.apiKey },
        el("h3", {}, u.apiKey),
        usageChart(u.apiKey, u.days || []),
        el("p", { class: "legend" }, el("span", { class: "total" }, `${total} calls`),
          remaining >= 0 ? `, ${remaining} left in the quota period` : ", no quota"));
    }),
  );
}

const routes = [
  [/^#\/apis\/([^/]+)$/, apiView, "nav-apis"],
  [/^#\/apis$/, apisView, "nav-apis"],
  [/^#\/keys$/, keysView, "nav-keys"],
  [/^#\/plans\/([^/]+)$/, planView, "nav-plans"],
  [/^#\/plans$/, plansView, "nav-plans"],
];

/** render draws the view that the location's hash names. */
async function render() {
  if (!token()) {
    showSignIn();
    return;
  }
  $("sign-in").hidden = true;
  $("nav").hidden = false;
  const hash = location.hash || "#/apis";
  const [re, viewFn, navID] = routes.find(([re]) => re.test(hash)) || routes[1];
  const args = (hash.match(re) || []).slice(1).map(decodeURIComponent);
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("active", a.id === navID);
  const view = el("section", { id: "view" });
  view.setAttribute("aria-busy", "true");
  await run(async () => {
    await viewFn(view, ...args);
    view.removeAttribute("aria-busy");
    $("view").replaceWith(view);
    watchMetrics(view);
  });
}

$("sign-in-form").addEventListener("submit", signIn);
$("sign-out").addEventListener("click", signOut);
window.addEventListener("hashchange", () => {
  showMessage("");
  render();
});
render();
