// HTML built with escaping by default: every value interpolated into `html` is escaped (and redacted)
// unless it is itself the result of `html` (or `raw`, for markup made here, such as SVG).
import { redact } from "../../redact.js";

export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export const escapeHtml = (value: unknown): string => redact(String(value ?? "")).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function part(value: unknown): string {
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(part).join("");
  if (value === undefined || value === null || value === false) return "";
  if (value instanceof Date) return escapeHtml(value.toISOString());
  return escapeHtml(value);
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  return new Html(strings.reduce((out, s, i) => out + s + (i < values.length ? part(values[i]) : ""), ""));
}

/** Markup this code generated itself (numbers and escaped strings only). */
export const raw = (text: string) => new Html(text);

/** "3 h 12 min", "2 d 4 h": how long ago or how long. */
export function duration(ms: number): string {
  const minutes = Math.max(0, Math.round(ms / 60_000));
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

export const ago = (at: Date | null | undefined, now = Date.now()) => (at ? `${duration(now - at.getTime())} ago` : "never");

export const percent = (share: number | null) => (share === null ? "—" : `${(share * 100).toFixed(share === 1 ? 0 : 2)}%`);

export const repoPath = (repo: string) => `/autopilot/repos/${repo.split("/").map(encodeURIComponent).join("/")}`;
