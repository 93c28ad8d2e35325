// Linting a directory on two cores: a worker thread parses every file for the target (the tree's JSON
// text, parse-tree.ts; grammars.ts's parseForTarget) and, for a target below 15, another checks it
// against the target's grammar, a batch of files at a time, while this thread reads each batch's
// trees and runs the rules on it. The findings are those of lintMigrations + lintDownFile, in the same order.
import { Worker } from "node:worker_threads";
import { asDownFileFindings, downFileInput, lintDownFile } from "./down-files.js";
import { checkedApart, type NewerSyntax, type TargetParse } from "./grammars.js";
import { ensureLintReady, lintableText, lintMigrations, startLintRun, type LintFinding, type LintInput, type LintOptions } from "./index.js";
import type { WorkerTask } from "./grammar-worker.js";
import { lintWorkersCanStart, startLintWorker } from "./lint-worker.js";

/** A lint run whose parser and threads are loading; `lint` takes the files once they are read. */
export interface PreparedLint {
  /** Lints the files in order, then the down files, each on its own. */
  lint(files: LintInput[], downs: Array<{ path: string; sql: string }>): Promise<LintFinding[]>;
}

/**
 * Starts loading what a run with these options needs: the threads that parse and check the files,
 * each loading its grammar (WebAssembly compilation, a thread's start-up, both a while), so a caller
 * prepares before it reads the files and the loading overlaps the reading.
 */
export function prepareLint(options: LintOptions, started?: Worker): PreparedLint {
  if (!lintWorkersCanStart()) return prepareInThisThread(options);
  const target = options.postgresVersion;
  const parser = new ParseThread<TargetParse>({ task: "parse", targetMajor: target }, started);
  // Below 15, a thread of its own checks each file against the target's grammar while the other parses.
  const checker = checkedApart(target) ? new ParseThread<NewerSyntax | undefined>({ task: "check", targetMajor: target! }) : undefined;
  return {
    async lint(files, downs) {
      const downInputs = downs.map(downFileInput);
      const texts = [...files, ...downInputs].map((f) => lintableText(f.sql));
      parser.start(texts);
      checker?.start(texts);
      const lintNext = startLintRun(options);
      const findings: LintFinding[] = [];
      for (let i = 0; i < texts.length; i++) {
        const isDown = i >= files.length;
        const { parsed, newer: newerHere } = await parser.result(i);
        const pending = isDown ? startLintRun(options)(downInputs[i - files.length], parsed) : lintNext(files[i], parsed);
        const newer = checker ? await checker.result(i) : newerHere;
        const found = pending.finish(() => newer);
        findings.push(...(isDown ? asDownFileFindings(found) : found));
      }
      return findings;
    },
  };
}

/** Everything on this thread: the parser loads while the files are read. */
function prepareInThisThread(options: LintOptions): PreparedLint {
  const parserReady = ensureLintReady(options);
  // Awaited in `lint`; until then a failure would be unhandled.
  parserReady.catch(() => {});
  return {
    async lint(files, downs) {
      await parserReady;
      return [...lintMigrations(files, options), ...downs.flatMap((down) => lintDownFile(down, options))];
    },
  };
}

/**
 * A worker thread (grammar-worker.ts), started here or earlier by the command: it loads its grammar as
 * soon as it is given its task, then answers for each text it is sent, in order, in batches. Until
 * then it does not keep the process alive, so a run that fails before linting exits.
 */
class ParseThread<Answer> {
  private readonly worker: Worker;
  private readonly answers: Answer[] = [];
  private failure?: Error;
  private wake?: () => void;

  constructor(task: WorkerTask, started?: Worker) {
    this.worker = started ?? startLintWorker();
    this.worker.postMessage(task);
    this.worker.on("message", (batch: Answer[]) => {
      this.answers.push(...batch);
      this.wake?.();
    });
    this.worker.once("error", (error) => this.fail(error));
    this.worker.once("exit", (code) => this.fail(new Error(`the lint's worker thread exited (code ${code}) before answering`)));
    // After the listeners: adding a "message" listener holds the process again.
    this.worker.unref();
  }

  start(texts: string[]): void {
    this.worker.ref();
    this.worker.postMessage(texts);
  }

  /** The answer for the i-th text, once its batch has arrived. */
  async result(i: number): Promise<Answer> {
    while (this.answers.length <= i) {
      if (this.failure) throw this.failure;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    return this.answers[i];
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.wake?.();
  }
}
