// The worker thread of grammar-thread.ts: loads the target's grammar at once, then checks each text
// it is sent against it, in order, and posts back the answers (undefined where the target parses the text).
import { parentPort, workerData } from "node:worker_threads";
import { loadTargetGrammar, newerSyntaxLoading } from "./grammars.js";

const { targetMajor } = workerData as { targetMajor: number };
const loading = loadTargetGrammar(targetMajor);
parentPort!.once("message", async (texts: string[]) => {
  await loading;
  const answers = [];
  for (const text of texts) answers.push(await newerSyntaxLoading(text, targetMajor));
  parentPort!.postMessage(answers);
  parentPort!.close();
});
