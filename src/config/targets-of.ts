// A repository's targets in the server config, matched by name case-insensitively. A server config
// may bind a thousand targets, and discovery, every heal cycle and every run look up one repository's:
// scanning the list each time made discovery quadratic. The index is built once per list (a parsed
// config is never modified).
const indexes = new WeakMap<readonly object[], Map<string, object[]>>();

export function targetsOf<T extends { repo: string }>(config: { targets: readonly T[] }, repo: string): T[] {
  let index = indexes.get(config.targets);
  if (!index) {
    index = new Map();
    for (const target of config.targets) {
      const key = target.repo.toLowerCase();
      index.set(key, [...(index.get(key) ?? []), target]);
    }
    indexes.set(config.targets, index);
  }
  return (index.get(repo.toLowerCase()) ?? []) as T[];
}

/** The target bound to one environment of the repository. */
export function targetOf<T extends { repo: string; environment: string }>(config: { targets: readonly T[] }, repo: string, environment: string): T | undefined {
  return targetsOf(config, repo).find((t) => t.environment === environment);
}
