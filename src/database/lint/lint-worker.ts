// A worker thread of lint-threads.ts: loads PostgreSQL 17's grammar at once, then lints its share of
// a run's files (a contiguous stretch, in order) and the down files it is given. The files before
// its share teach the rules what the schema holds (known-schema.ts), so every share but the first
// starts from what the thread before it learned: each thread parses its share, learns what the share
// does to the schema (no rules, a quick pass) and passes that on before it runs the rules.
import { parentPort, workerData } from "node:worker_threads";
import { asDownFileFindings } from "./down-files.js";
import type { NewerSyntax } from "./grammars.js";
import { learnSchema, lintableText, startLintRun, type LintFinding, type LintInput, type LintOptions } from "./index.js";
import { KnownSchema, type KnownSchemaSnapshot } from "./known-schema.js";
import { loadNewestGrammar, parseStatements, type ParsedStatements } from "./parse-tree.js";

/** What the main thread sends a worker. */
export type ToWorker =
  | {
      kind: "share";
      files: LintInput[];
      downs: LintInput[];
      /** The share after the first: a "schema" message brings what the files before it taught. */
      followsShare: boolean;
      /** A thread lints the files after this share: post what this share teaches the schema. */
      precedesShare: boolean;
      /** The target's grammar is checked (on the main thread): a "newer" message brings its answers. */
      checked: boolean;
    }
  | { kind: "schema"; schema: KnownSchemaSnapshot }
  /** The target grammar's answer for each file of the share, then each down file. */
  | { kind: "newer"; answers: Array<NewerSyntax | undefined> };

/** What a worker sends back. */
export type FromWorker = { kind: "schema"; schema: KnownSchemaSnapshot } | { kind: "findings"; files: LintFinding[]; downs: LintFinding[] };

const options = workerData as LintOptions;
const grammar = loadNewestGrammar();
const port = parentPort!;

/** Messages by kind, each awaited when the lint gets to it (they may arrive earlier). */
const inbox = new Map<ToWorker["kind"], ToWorker>();
let delivered: (() => void) | undefined;
port.on("message", (message: ToWorker) => {
  inbox.set(message.kind, message);
  delivered?.();
});

async function receive<K extends ToWorker["kind"]>(kind: K): Promise<Extract<ToWorker, { kind: K }>> {
  while (!inbox.has(kind)) await new Promise<void>((resolve) => (delivered = resolve));
  return inbox.get(kind) as Extract<ToWorker, { kind: K }>;
}

function send(message: FromWorker): void {
  port.postMessage(message);
}

async function lintShare(): Promise<void> {
  const share = await receive("share");
  await grammar;
  const schema = share.followsShare ? KnownSchema.fromSnapshot((await receive("schema")).schema) : new KnownSchema(options.notNullChecks);
  if (share.precedesShare) send({ kind: "schema", schema: learnedFrom(schema, share.files) });
  // Each file parsed again and linted at once: keeping the share's parse trees from the pass above
  // for this one cost more in garbage collection than parsing twice.
  const lintNext = startLintRun(options, schema);
  const pending = [...share.files.map((input) => lintNext(input, parse(input))), ...share.downs.map((input) => startLintRun(options)(input, parse(input)))];
  const answers = share.checked ? (await receive("newer")).answers : [];
  const findings = pending.map((lint, i) => lint.finish(() => answers[i]));
  send({ kind: "findings", files: findings.slice(0, share.files.length).flat(), downs: findings.slice(share.files.length).flatMap(asDownFileFindings) });
  port.close();
}

function parse(input: LintInput): ParsedStatements {
  return parseStatements(lintableText(input.sql));
}

/** What the schema holds after the files: what the next share's thread starts from. */
function learnedFrom(schema: KnownSchema, files: LintInput[]): KnownSchemaSnapshot {
  const learned = KnownSchema.fromSnapshot(schema.snapshot());
  for (const input of files) learnSchema(learned, [{ input, parsed: parse(input) }]);
  return learned.snapshot();
}

await lintShare();
