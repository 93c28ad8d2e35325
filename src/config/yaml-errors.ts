// Turns YAML syntax errors and zod issues into problems that name the file, the key and the line,
// all at once: a user fixing a config should not have to push once per mistake.
import { LineCounter, parseDocument, isNode, type Document } from "yaml";
import type { z } from "zod";

export interface ConfigProblem {
  file: string;
  key: string;
  line?: number;
  message: string;
}

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: ConfigProblem[],
  ) {
    super(`${file} is invalid:\n${problems.map(formatProblem).join("\n")}`);
    this.name = "ConfigError";
  }
}

export function formatProblem(p: ConfigProblem): string {
  const where = p.line ? `${p.file}:${p.line}` : p.file;
  return `${where}: ${p.key ? `${p.key}: ` : ""}${p.message}`;
}

/** Parses YAML text and validates it with a zod schema; throws ConfigError with every problem. */
export function parseYamlConfig<S extends z.ZodType>(file: string, text: string, schema: S): z.infer<S> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => ({
        file,
        key: "",
        line: e.linePos?.[0]?.line,
        message: `not valid YAML: ${e.message.split("\n")[0]}`,
      })),
    );
  }
  const result = schema.safeParse(doc.toJS() ?? {});
  if (result.success) return result.data;
  throw new ConfigError(
    file,
    result.error.issues.flatMap((issue) => {
      // zod reports unknown keys on the parent object; point at each key instead.
      const paths = issue.code === "unrecognized_keys" ? issue.keys.map((k) => [...issue.path, k]) : [issue.path];
      return paths.map((path) => ({
        file,
        key: keyPath(path),
        line: lineOf(doc, lineCounter, path),
        message: issue.code === "unrecognized_keys" ? "unknown key (check the spelling)" : issue.message,
      }));
    }),
  );
}

function keyPath(path: PropertyKey[]): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : `${i === 0 ? "" : "."}${String(p)}`)).join("");
}

/** The line of the deepest node of `path` that exists in the document. */
function lineOf(doc: Document, counter: LineCounter, path: PropertyKey[]): number | undefined {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = doc.getIn(path.slice(0, depth) as unknown[], true);
    if (isNode(node) && node.range) return counter.linePos(node.range[0]).line;
  }
  return undefined;
}
