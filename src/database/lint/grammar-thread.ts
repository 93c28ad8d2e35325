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

/** A lint run whose parser and grammar thread are loading; `lint` takes the files once they are read. */
export interface PreparedLint {
  /** Lints the files in order, then the down files, each on its own. */
  lint(files: LintInput[], downs: Array<{ path: string; sql: string }>): Promise<LintFinding[]>;
}

/**
 * Starts loading what a run with these options needs: the parser, and the worker thread that loads
 * the target's grammar. Both take a while (WebAssembly compilation, a thread's start-up), so a caller
 * prepares before it reads the files and the loading overlaps the reading.
 */
export function prepareLint(options: LintOptions): PreparedLint {
  const target = options.postgresVersion;
  const onWorker = target !== undefined && target < NEWEST_MAJOR && workerCanStart();
  // The older grammars load here only when the check runs in this thread.
  const parserReady = ensureLintReady(onWorker ? {} : options);
  // Awaited in `lint`; until then a failure would be unhandled.
  parserReady.catch(() => {});
  if (!onWorker) {
    return {
      async lint(files, downs) {
        await parserReady;
        return [...lintMigrations(files, options), ...downs.flatMap((down) => lintDownFile(down, options))];
      },
    };
  }
  const grammarThread = new GrammarThread(target!);
  return {
    async lint(files, downs) {
      const downInputs = downs.map(downFileInput);
      const checked = grammarThread.check([...files, ...downInputs].map((f) => lintableText(f.sql)));
      // Until this thread's own lint is done, a rejection would be unhandled: it is awaited below.
      checked.catch(() => {});
      await parserReady;
      const pendingFiles = startLintMigrations(files, options);
      const pendingDowns = downInputs.map((down) => startLintMigration(down, options));
      const answers = await checked;
      return [
        ...pendingFiles.flatMap((pending, i) => pending.finish(() => answers[i])),
        ...pendingDowns.flatMap((pending, i) => asDownFileFindings(pending.finish(() => answers[files.length + i]))),
      ];
    },
  };
}

// The worker is the bundle's JavaScript sibling (dist/cli/grammar-worker.js). Run from the sources
// (tests, bin/autopilot.js after an edit), Node 20 does not pass tsx's loader to a worker, so the
// check runs in this thread there.
const fromSources = import.meta.url.endsWith(".ts");

function workerCanStart(): boolean {
  return !fromSources;
}

/**
 * The worker thread: it loads the target's grammar as soon as it starts, then checks the texts it is
 * sent. Until then it does not keep the process alive, so a run that fails before linting exits.
 */
class GrammarThread {
  private readonly worker: Worker;
  private readonly answers: Promise<Array<NewerSyntax | undefined>>;

  constructor(targetMajor: number) {
    this.worker = new Worker(new URL("./grammar-worker.js", import.meta.url), { workerData: { targetMajor } });
    this.answers = new Promise((resolve, reject) => {
      this.worker.once("message", resolve);
      this.worker.once("error", reject);
      this.worker.once("exit", (code) => reject(new Error(`the grammar check's worker thread exited (code ${code}) before answering`)));
    });
    // A failure before `check` is reported by `check`.
    this.answers.catch(() => {});
    // After the listeners: adding a "message" listener holds the process again.
    this.worker.unref();
  }

  check(texts: string[]): Promise<Array<NewerSyntax | undefined>> {
    this.worker.ref();
    this.worker.postMessage(texts);
    return this.answers;
  }
}
