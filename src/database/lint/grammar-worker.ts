// The worker thread of grammar-thread.ts: loads its grammar as soon as it is given its task, then
// answers for each text it is sent, in order, posting the answers a batch at a time so the lint's
// thread starts on the first files while this one goes on. "parse": parseForTarget's answer (the
// tree's JSON text the rules read, or where the grammars stop). "check", for a target below 15: where
// the target's grammar stops, with the version that introduced what is there.
import { parentPort } from "node:worker_threads";
import { newerSyntaxLoading, parseForTargetLoading, type TargetParse } from "./grammars.js";

export type WorkerTask = { task: "parse"; targetMajor?: number } | { task: "check"; targetMajor: number };

/** Small enough that the lint's thread starts soon, large enough that messages cost little. */
const BATCH = 25;

function answering(task: WorkerTask): (text: string) => Promise<unknown> {
  return (text) => (task.task === "parse" ? parseForTargetLoading(text, task.targetMajor) : newerSyntaxLoading(text, task.targetMajor));
}

/** Posts the answers, handing over (not copying) the parse trees' bytes and indexes: each has an ArrayBuffer of its own. */
function post(batch: unknown[]): void {
  const trees = batch.flatMap((answer) => {
    const parsed = (answer as TargetParse | undefined)?.parsed;
    return parsed && "json" in parsed ? [parsed.json.buffer as ArrayBuffer, parsed.statements.buffer as ArrayBuffer] : [];
  });
  parentPort!.postMessage(batch, trees);
}

// The task first (the thread may start before the run knows it), then the texts.
parentPort!.once("message", (task: WorkerTask) => {
  const answerFor = answering(task);
  // The grammar compiles while the lint's thread reads the files.
  const ready = answerFor("SELECT 1");
  parentPort!.once("message", (texts: string[]) => void answerAll(texts, answerFor, ready));
});

async function answerAll(texts: string[], answerFor: (text: string) => Promise<unknown>, ready: Promise<unknown>): Promise<void> {
  await ready;
  let batch: unknown[] = [];
  for (const text of texts) {
    batch.push(await answerFor(text));
    if (batch.length === BATCH) {
      post(batch);
      batch = [];
    }
  }
  post(batch);
  parentPort!.close();
}
