// A bar chart of calls per day, drawn as SVG with DOM calls (the console's
// content security policy allows no inline style or script).

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/**
 * usageChart draws one key's DailyUsage list ([{date, calls}], oldest
 * first): one bar per day, its height proportional to the calls, its
 * tooltip the exact count.
 */
export function usageChart(keyName, days) {
  const barWidth = 18, gap = 6, height = 140, top = 16, bottom = 30, left = 36;
  const width = left + days.length * (barWidth + gap) + gap;
  const max = Math.max(1, ...days.map((d) => Number(d.calls || 0)));
  const chart = svg("svg", {
    class: "usage-chart", width, height: top + height + bottom, viewBox: `0 0 ${width} ${top + height + bottom}`,
    role: "img", "aria-label": `Calls per day of ${keyName}`, "data-key": keyName,
  });
  chart.append(svg("line", { class: "axis", x1: left, y1: top + height, x2: width, y2: top + height }));
  chart.append(svg("text", { x: 2, y: top + 8 }, String(max)));
  chart.append(svg("text", { x: 2, y: top + height }, "0"));
  days.forEach((d, i) => {
    const calls = Number(d.calls || 0);
    const h = Math.round((calls / max) * height);
    const x = left + gap + i * (barWidth + gap);
    const bar = svg("rect", {
      class: "bar", x, y: top + height - h, width: barWidth, height: h, "data-date": d.date, "data-calls": calls,
    });
    bar.append(svg("title", {}, `${d.date}: ${calls} calls`));
    chart.append(bar);
    if (calls > 0) chart.append(svg("text", { x, y: top + height - h - 3 }, String(calls)));
    chart.append(svg("text", { x, y: top + height + 14 }, d.date.slice(8)));
  });
  return chart;
}
