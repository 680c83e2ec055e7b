// Live metrics of a stage, read from the admin port's Prometheus endpoint
// (/metrics, the same origin; it needs no token).

const SERIES = {
  tollgate_calls_total: "calls",
  tollgate_calls_4xx_total: "errors4xx",
  tollgate_calls_5xx_total: "errors5xx",
  tollgate_throttled_total: "throttled",
  tollgate_call_duration_milliseconds_sum: "durationSum",
  tollgate_call_duration_milliseconds_count: "durationCount",
};

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\}\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/**
 * stageMetrics fetches /metrics and sums the data plane's series of one
 * stage ("apis/{api}/stages/{stage}") per route: a Map from the route key to
 * {calls, errors4xx, errors5xx, throttled, durationSum, durationCount}.
 */
export async function stageMetrics(stage) {
  const res = await fetch("/metrics", { cache: "no-store", credentials: "omit" });
  if (!res.ok) throw new Error(`/metrics answered HTTP ${res.status}`);
  const byRoute = new Map();
  for (const line of (await res.text()).split("\n")) {
    const m = LINE.exec(line);
    if (!m || !(m[1] in SERIES)) continue;
    const labels = {};
    for (const [, k, v] of m[2].matchAll(LABEL)) labels[k] = v.replace(/\\(.)/g, "$1");
    if (labels.stage !== stage) continue;
    const route = labels.route || "";
    if (!byRoute.has(route)) {
      byRoute.set(route, { calls: 0, errors4xx: 0, errors5xx: 0, throttled: 0, durationSum: 0, durationCount: 0 });
    }
    byRoute.get(route)[SERIES[m[1]]] += Number(m[3]) || 0;
  }
  return byRoute;
}
