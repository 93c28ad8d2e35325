// Turns YAML syntax errors and zod issues into problems that name the file, the key and the line,
// all at once: a user fixing a config should not have to push once per mistake.
import { LineCounter, parseDocument, isMap, isNode, isScalar, isSeq, type Document } from "yaml";
import type { z } from "zod";
import { unknownKeyMessage } from "./unknown-key.js";

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

/** A parsed YAML file and where its nodes are, so every problem can name its line. */
export interface YamlSource {
  file: string;
  doc: Document;
  lines: LineCounter;
  /** Syntax errors: when there are any, the content is not to be trusted. */
  syntaxProblems: ConfigProblem[];
}

export function readYaml(file: string, text: string): YamlSource {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  const syntaxProblems = doc.errors.map((e) => ({
    file,
    key: "",
    line: e.linePos?.[0]?.line,
    message: `not valid YAML: ${e.message.split("\n")[0]}`,
  }));
  return { file, doc, lines, syntaxProblems };
}

/** A problem at `path` of the document, with its line. */
export function problemAt(source: YamlSource, path: PropertyKey[], message: string): ConfigProblem {
  return { file: source.file, key: keyPath(path), line: lineOf(source, path), message };
}

/**
 * zod's issues as problems. `schema` is the one that raised them (validating the value at `prefix`),
 * so an unknown key can be compared with the keys its mapping does know.
 */
export function issueProblems(source: YamlSource, issues: z.core.$ZodIssue[], schema: z.ZodType, prefix: PropertyKey[] = []): ConfigProblem[] {
  const problems = issues.flatMap((issue) => {
    if (issue.code !== "unrecognized_keys") return [problemAt(source, [...prefix, ...issue.path], issue.message)];
    // zod reports unknown keys on the parent object; point at each key instead.
    const known = knownKeysAt(schema, issue.path);
    return issue.keys.map((key) => problemAt(source, [...prefix, ...issue.path, key], unknownKeyMessage(key, known)));
  });
  return problems.sort(byLine);
}

/** In the order of the file, as the one reading them fixes them; problems without a line last. */
export function byLine(a: ConfigProblem, b: ConfigProblem): number {
  return (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER);
}

/** Parses YAML text and validates it with a zod schema; throws ConfigError with every problem. */
export function parseYamlConfig<S extends z.ZodType>(file: string, text: string, schema: S): z.infer<S> {
  const source = readYaml(file, text);
  if (source.syntaxProblems.length > 0) throw new ConfigError(file, source.syntaxProblems);
  const result = schema.safeParse(source.doc.toJS() ?? {});
  if (result.success) return result.data;
  throw new ConfigError(file, issueProblems(source, result.error.issues, schema));
}

export function keyPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : `${i === 0 ? "" : "."}${String(p)}`)).join("");
}

/** The line of the deepest part of `path` that exists in the document: the key itself where there is one. */
function lineOf({ doc, lines }: YamlSource, path: PropertyKey[]): number | undefined {
  for (let depth = path.length; depth > 0; depth--) {
    const parent = doc.getIn(path.slice(0, depth - 1) as unknown[], true);
    const step = path[depth - 1];
    const node = isMap(parent)
      ? parent.items.find((pair) => (isScalar(pair.key) ? pair.key.value : pair.key) === step)?.key
      : isSeq(parent) && typeof step === "number"
        ? parent.items[step]
        : undefined;
    if (isNode(node) && node.range) return lines.linePos(node.range[0]).line;
  }
  return isNode(doc.contents) && doc.contents.range ? lines.linePos(doc.contents.range[0]).line : undefined;
}

type SchemaDef = { type: string; shape?: Record<string, z.ZodType>; innerType?: z.ZodType; element?: z.ZodType; in?: z.ZodType };

/** The keys the object schema at `path` knows (through defaults, optionals, arrays and transforms). */
function knownKeysAt(schema: z.ZodType, path: PropertyKey[]): string[] {
  let node: z.ZodType | undefined = unwrap(schema);
  for (const step of path) {
    const def = node?._zod.def as SchemaDef | undefined;
    node = def?.type === "object" && typeof step === "string" ? def.shape?.[step] : def?.type === "array" ? def.element : undefined;
    node = node && unwrap(node);
  }
  const def = node?._zod.def as SchemaDef | undefined;
  return def?.type === "object" ? Object.keys(def.shape ?? {}) : [];
}

function unwrap(schema: z.ZodType): z.ZodType {
  const def = schema._zod.def as SchemaDef;
  const inner = def.innerType ?? (def.type === "pipe" ? def.in : undefined);
  return inner ? unwrap(inner) : schema;
}
