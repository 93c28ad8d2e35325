// Linting a directory on two cores: the target-grammar check (a second parse of every file, by an
// older PostgreSQL's grammar, see grammars.ts) runs on a worker thread while this thread parses
// with the newest grammar and runs the rules; each file's findings are completed with the worker's
// answer. The findings are those of lintMigrations + lintDownFile, in the same order.
import { Worker } from "node:worker_threads";
import { asDownFileFindings, downFileInput, lintDownFile } from "./down-files.js";
import { NEWEST_MAJOR, type NewerSyntax } from "./grammars.js";
import {
  ensureLintReady,
  lintableText,
  lintMigrations,
  startLintMigration,
  startLintMigrations,
  type LintFinding,
  type LintInput,
  type LintOptions,
} from "./index.js";

/** Lints the files in order, then the down files, each on its own; call ensureLintReady() (no version needed) first. */
export async function lintWithGrammarThread(files: LintInput[], downs: Array<{ path: string; sql: string }>, options: LintOptions): Promise<LintFinding[]> {
  const target = options.postgresVersion;
  if (target === undefined || target >= NEWEST_MAJOR || !workerCanStart()) {
    await ensureLintReady(options);
    return [...lintMigrations(files, options), ...downs.flatMap((down) => lintDownFile(down, options))];
  }
  const downInputs = downs.map(downFileInput);
  const checked = checkOnWorker(
    [...files, ...downInputs].map((f) => lintableText(f.sql)),
    target,
  );
  // Until the worker answers, a rejection would be unhandled: it is awaited below.
  checked.catch(() => {});
  const pendingFiles = startLintMigrations(files, options);
  const pendingDowns = downInputs.map((down) => startLintMigration(down, options));
  const answers = await checked;
  return [
    ...pendingFiles.flatMap((pending, i) => pending.finish(() => answers[i])),
    ...pendingDowns.flatMap((pending, i) => asDownFileFindings(pending.finish(() => answers[files.length + i]))),
  ];
}

// The worker is the bundle's JavaScript sibling (dist/cli/grammar-worker.js). Run from the sources
// (tests, bin/autopilot.js after an edit), Node 20 does not pass tsx's loader to a worker, so the
// check runs in this thread there.
const fromSources = import.meta.url.endsWith(".ts");

function workerCanStart(): boolean {
  return !fromSources;
}

function checkOnWorker(texts: string[], targetMajor: number): Promise<Array<NewerSyntax | undefined>> {
  const script = new URL("./grammar-worker.js", import.meta.url);
  return new Promise((resolve, reject) => {
    const worker = new Worker(script, { workerData: { texts, targetMajor } });
    worker.once("message", resolve);
    worker.once("error", reject);
    worker.once("exit", (code) => reject(new Error(`the grammar check's worker thread exited (code ${code}) before answering`)));
  });
}
