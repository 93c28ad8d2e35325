// The worker thread of grammar-thread.ts: loads its grammar at once, then answers for each text it is
// sent, in order, posting the answers a batch at a time so the lint's thread starts on the first
// files while this one goes on. "parse": the newest grammar's parse tree as JSON text, or where it
// stops. "check": where the target's grammar stops, with the version that introduced what is there.
import { parentPort, workerData } from "node:worker_threads";
import { loadTargetGrammar, newerSyntaxLoading } from "./grammars.js";
import { loadNewestGrammar, parseToJson } from "./parse-tree.js";

export type WorkerTask = { task: "parse" } | { task: "check"; targetMajor: number };

/** Small enough that the lint's thread starts soon, large enough that messages cost little. */
const BATCH = 25;

const task = workerData as WorkerTask;
const answer: Promise<(text: string) => unknown> =
  task.task === "parse"
    ? loadNewestGrammar().then((wasm) => (text: string) => parseToJson(wasm, text))
    : loadTargetGrammar(task.targetMajor).then(() => (text: string) => newerSyntaxLoading(text, task.targetMajor));

/** Posts the answers, handing over (not copying) the parse trees' bytes: each has an ArrayBuffer of its own. */
function post(batch: unknown[]): void {
  const trees = batch.flatMap((answer) =>
    answer && typeof answer === "object" && "json" in answer ? [(answer as { json: Uint8Array }).json.buffer as ArrayBuffer] : [],
  );
  parentPort!.postMessage(batch, trees);
}

parentPort!.once("message", async (texts: string[]) => {
  const answerFor = await answer;
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
});
