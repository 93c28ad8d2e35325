// 7-day charts drawn on the server as inline SVG: response time (p50 solid, p95 dashed) per check and
// hour, uptime per day; maintenance shaded, migrations and deployments marked on the time axis.
import type { LatencyPoint, TimelineMark } from "../../store/dashboard-queries.js";
import { escapeHtml, raw, type Html } from "./html.js";

const WIDTH = 720;
const HEIGHT = 200;
const PAD = { left: 48, right: 12, top: 12, bottom: 28 };
const COLOURS = ["#0550ae", "#8250df", "#116329", "#bc4c00", "#a40e26", "#1b7c83"];
const DAY = 86_400_000;

interface Axis {
  from: number;
  to: number;
}

const x = (axis: Axis, t: number) => PAD.left + ((t - axis.from) / (axis.to - axis.from)) * (WIDTH - PAD.left - PAD.right);
const plotHeight = HEIGHT - PAD.top - PAD.bottom;

function frame(axis: Axis, maintenanceHours: Date[], marks: TimelineMark[]): string {
  const shaded = maintenanceHours
    .map(
      (h) =>
        `<rect class="maintenance-window" x="${x(axis, h.getTime()).toFixed(1)}" y="${PAD.top}" width="${(x(axis, h.getTime() + 3_600_000) - x(axis, h.getTime())).toFixed(1)}" height="${plotHeight}" fill="#fff1c2"><title>maintenance</title></rect>`,
    )
    .join("");
  const days: string[] = [];
  for (let t = Math.ceil(axis.from / DAY) * DAY; t <= axis.to; t += DAY) {
    const px = x(axis, t).toFixed(1);
    days.push(
      `<line x1="${px}" x2="${px}" y1="${PAD.top}" y2="${HEIGHT - PAD.bottom}" stroke="#eaeef2"/><text x="${px}" y="${HEIGHT - 10}" font-size="11" text-anchor="middle" fill="#57606a">${new Date(t).toISOString().slice(5, 10)}</text>`,
    );
  }
  const marked = marks
    .map((m) => {
      const px = x(axis, m.at.getTime()).toFixed(1);
      const colour = m.kind === "migration" ? "#8250df" : "#bc4c00";
      return `<g class="mark-${m.kind}"><line x1="${px}" x2="${px}" y1="${PAD.top}" y2="${HEIGHT - PAD.bottom}" stroke="${colour}" stroke-width="1.5" stroke-dasharray="${m.kind === "migration" ? "none" : "4 2"}"/><polygon points="${px},${HEIGHT - PAD.bottom} ${Number(px) - 4},${HEIGHT - PAD.bottom + 7} ${Number(px) + 4},${HEIGHT - PAD.bottom + 7}" fill="${colour}"/><title>${escapeHtml(`${m.label} at ${m.at.toISOString()}`)}</title></g>`;
    })
    .join("");
  return shaded + days.join("") + marked;
}

function yAxis(max: number, unit: string): string {
  return [0, 0.5, 1]
    .map((f) => {
      const y = (PAD.top + plotHeight * (1 - f)).toFixed(1);
      return `<line x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${y}" y2="${y}" stroke="#eaeef2"/><text x="${PAD.left - 4}" y="${Number(y) + 4}" font-size="11" text-anchor="end" fill="#57606a">${Math.round(max * f)}${unit}</text>`;
    })
    .join("");
}

export function latencyChart(points: LatencyPoint[], maintenanceHours: Date[], marks: TimelineMark[], now = Date.now()): Html {
  const axis = { from: now - 7 * DAY, to: now };
  const max = Math.max(10, ...points.map((p) => p.p95));
  const y = (v: number) => (PAD.top + plotHeight * (1 - v / max)).toFixed(1);
  const checks = [...new Set(points.map((p) => p.check))];
  const lines = checks
    .map((check, i) => {
      const colour = COLOURS[i % COLOURS.length];
      const mine = points.filter((p) => p.check === check);
      const path = (key: "p50" | "p95") => mine.map((p, j) => `${j ? "L" : "M"}${x(axis, p.hour.getTime()).toFixed(1)},${y(p[key])}`).join("");
      return `<g class="series"><title>${escapeHtml(check)}</title><path d="${path("p50")}" fill="none" stroke="${colour}" stroke-width="1.5"/><path d="${path("p95")}" fill="none" stroke="${colour}" stroke-width="1" stroke-dasharray="4 3"/></g>`;
    })
    .join("");
  const legend = checks.map((c, i) => `<span style="color:${COLOURS[i % COLOURS.length]}">■ ${escapeHtml(c)}</span>`).join("");
  const summary = checks.length
    ? `Response time per hour of ${checks.map(escapeHtml).join(", ")}; up to ${Math.round(max)} ms`
    : "No response times recorded in the last 7 days";
  return raw(
    `<figure><svg class="chart" role="img" aria-label="${summary}" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" xmlns="http://www.w3.org/2000/svg">` +
      frame(axis, maintenanceHours, marks) +
      yAxis(max, " ms") +
      lines +
      `</svg><figcaption class="legend">${legend}<span>— p50</span><span>- - p95</span><span style="color:#8250df">▲ migration</span><span style="color:#bc4c00">▲ deployment</span><span style="background:#fff1c2">maintenance</span></figcaption></figure>`,
  );
}

export function uptimeChart(days: Array<{ day: Date; uptime: number | null }>, maintenanceHours: Date[], marks: TimelineMark[], now = Date.now()): Html {
  const axis = { from: now - 7 * DAY, to: now };
  const bars = days
    .filter((d) => d.uptime !== null)
    .map((d) => {
      const left = Math.max(x(axis, d.day.getTime()), PAD.left);
      const right = Math.min(x(axis, d.day.getTime() + DAY), WIDTH - PAD.right);
      const height = plotHeight * (d.uptime ?? 0);
      const colour = (d.uptime ?? 0) >= 0.999 ? "#2da44e" : (d.uptime ?? 0) >= 0.99 ? "#bf8700" : "#cf222e";
      return `<rect x="${(left + 2).toFixed(1)}" y="${(PAD.top + plotHeight - height).toFixed(1)}" width="${Math.max(1, right - left - 4).toFixed(1)}" height="${height.toFixed(1)}" fill="${colour}" fill-opacity="0.8"><title>${d.day.toISOString().slice(0, 10)}: ${((d.uptime ?? 0) * 100).toFixed(2)}%</title></rect>`;
    })
    .join("");
  const label = `Uptime per day over 7 days: ${days.map((d) => `${d.day.toISOString().slice(5, 10)} ${d.uptime === null ? "no data" : `${((d.uptime ?? 0) * 100).toFixed(1)}%`}`).join(", ") || "no data"}`;
  return raw(
    `<figure><svg class="chart" role="img" aria-label="${escapeHtml(label)}" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" xmlns="http://www.w3.org/2000/svg">` +
      frame(axis, maintenanceHours, marks) +
      yAxis(100, "%") +
      bars +
      `</svg></figure>`,
  );
}
