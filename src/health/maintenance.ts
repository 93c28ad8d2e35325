// Maintenance windows from the repo config and the server config.
export interface Window {
  start: string;
  end: string;
  checks?: string[];
  repos?: string[];
}

export function inMaintenance(windows: Window[], repo: string, check: string, now: Date): boolean {
  return windows.some(
    (w) =>
      new Date(w.start) <= now &&
      now < new Date(w.end) &&
      (!w.checks || w.checks.includes(check)) &&
      (!w.repos || w.repos.some((r) => r.toLowerCase() === repo.toLowerCase())),
  );
}
