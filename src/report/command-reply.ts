// The one reply a command comment gets. Each command owns a section of it, so work that finishes
// later (a migration, a rollback) fills in its own answer; reactions mark the comment 👀, then 🚀 or 😕.
import { redact } from "../redact.js";
import { COMMENT_LIMIT, truncate } from "./limits.js";
import type { GitHubClient, RepoRef } from "../github/api/client.js";
import { commentBody } from "../github/api/issues.js";

export interface ReplyRef {
  issueNumber: number;
  commentId: number;
  replyId: number;
  section: number;
}

export type Reaction = "eyes" | "rocket" | "confused";

export async function react(github: GitHubClient, repo: RepoRef, commentId: number, content: Reaction): Promise<void> {
  await github.rest.reactions.createForIssueComment({ ...repo, comment_id: commentId, content });
}

const open = (n: number) => `<!-- autopilot:section ${n} -->`;
const close = (n: number) => `<!-- /autopilot:section ${n} -->`;

/** Posts the reply with one section per command; returns its id. */
export async function postReply(github: GitHubClient, repo: RepoRef, issueNumber: number, sections: string[]): Promise<number> {
  const body = sections.map((text, i) => `${open(i)}\n${text}\n${close(i)}`).join("\n\n");
  const { data } = await github.rest.issues.createComment({ ...repo, issue_number: issueNumber, body: fit(body) });
  return data.id;
}

/** Replaces one command's section of the reply with its final answer. */
export async function updateReplySection(github: GitHubClient, repo: RepoRef, ref: ReplyRef, text: string): Promise<void> {
  const body = await commentBody(github, repo, ref.replyId);
  const start = body.indexOf(open(ref.section));
  const end = body.indexOf(close(ref.section));
  const section = `${open(ref.section)}\n${text}\n${close(ref.section)}`;
  const next = start >= 0 && end > start ? body.slice(0, start) + section + body.slice(end + close(ref.section).length) : `${body}\n\n${section}`;
  await github.rest.issues.updateComment({ ...repo, comment_id: ref.replyId, body: fit(next) });
}

/** The answer of a command that ran as its own job: its section, and the comment's final reaction. */
export async function finishCommand(github: GitHubClient, repo: RepoRef, ref: ReplyRef, ok: boolean, text: string): Promise<void> {
  await updateReplySection(github, repo, ref, text);
  await react(github, repo, ref.commentId, ok ? "rocket" : "confused");
}

const fit = (body: string) => truncate(redact(body), COMMENT_LIMIT);
