// One Check Run, from "in progress" to its conclusion. Every text is redacted and cut to GitHub's
// limits here; annotations go out in batches of 50, as the API demands.
import { redact } from "../redact.js";
import { ANNOTATIONS_PER_REQUEST, CHECK_SUMMARY_LIMIT, CHECK_TEXT_LIMIT, CHECK_TITLE_LIMIT, chunk, truncate } from "./limits.js";
import type { GitHubClient, RepoRef } from "../github/api/client.js";

export type Conclusion = "success" | "failure" | "neutral" | "action_required" | "cancelled" | "skipped";

export interface Annotation {
  path: string;
  line: number;
  level: "failure" | "warning" | "notice";
  message: string;
  title?: string;
}

export interface CheckRunOutcome {
  conclusion: Conclusion;
  title: string;
  summary: string;
  text?: string;
  annotations?: Annotation[];
  actions?: Array<{ label: string; description: string; identifier: string }>;
}

/** Progress updates closer together than this are coalesced, so 500 files cost a few requests. */
const PROGRESS_INTERVAL_MS = 1_500;

export class CheckRunReporter {
  private lastProgressAt = 0;

  constructor(
    private readonly github: GitHubClient,
    private readonly repo: RepoRef,
    readonly name: string,
    readonly headSha: string,
    public id?: number,
    private readonly detailsUrl?: string,
  ) {}

  /** The reporter of a Check Run an earlier attempt created, known by its id alone: it is updated, never created. */
  static existing(github: GitHubClient, repo: RepoRef, id: number): CheckRunReporter {
    return new CheckRunReporter(github, repo, "", "", id);
  }

  /** Creates the run (or takes over the one an earlier attempt created) as in_progress. */
  async start(title: string, summary = "Autopilot is working on this commit."): Promise<number> {
    const output = this.output(title, summary);
    if (this.id) {
      await this.github.rest.checks.update({ ...this.repo, check_run_id: this.id, status: "in_progress", output });
      return this.id;
    }
    const { data } = await this.github.rest.checks.create({
      ...this.repo,
      name: this.name,
      head_sha: this.headSha,
      status: "in_progress",
      started_at: new Date().toISOString(),
      output,
      ...(this.detailsUrl ? { details_url: this.detailsUrl } : {}),
    });
    this.id = data.id;
    return data.id;
  }

  /** Updates the title users watch; frequent calls are coalesced unless `force`. */
  async progress(title: string, summary = "Autopilot is working on this commit.", force = false): Promise<void> {
    if (!this.id) return;
    const now = Date.now();
    if (!force && now - this.lastProgressAt < PROGRESS_INTERVAL_MS) return;
    this.lastProgressAt = now;
    await this.github.rest.checks.update({ ...this.repo, check_run_id: this.id, output: this.output(title, summary) });
  }

  async complete(outcome: CheckRunOutcome): Promise<void> {
    const batches = chunk(outcome.annotations ?? [], ANNOTATIONS_PER_REQUEST).map((b) => b.map(cleanAnnotation));
    const last = batches.pop() ?? [];
    const output = this.output(outcome.title, outcome.summary, outcome.text);
    // GitHub appends each update's annotations to the run's list. The earlier batches go first, so
    // that once the run reads "completed" everything is there.
    if (batches.length && !this.id) await this.start(outcome.title);
    for (const batch of batches) {
      await this.github.rest.checks.update({ ...this.repo, check_run_id: this.id!, output: { ...output, annotations: batch } });
    }
    const params = {
      ...this.repo,
      status: "completed" as const,
      conclusion: outcome.conclusion,
      completed_at: new Date().toISOString(),
      output: { ...output, annotations: last },
      ...(outcome.actions?.length ? { actions: outcome.actions } : {}),
    };
    if (this.id) await this.github.rest.checks.update({ ...params, check_run_id: this.id });
    else this.id = (await this.github.rest.checks.create({ ...params, name: this.name, head_sha: this.headSha })).data.id;
  }

  private output(title: string, summary: string, text?: string) {
    return {
      title: truncate(redact(title), CHECK_TITLE_LIMIT, "see the summary"),
      summary: truncate(redact(summary), CHECK_SUMMARY_LIMIT),
      ...(text ? { text: truncate(redact(text), CHECK_TEXT_LIMIT) } : {}),
    };
  }
}

function cleanAnnotation(a: Annotation) {
  return {
    path: a.path,
    start_line: Math.max(1, a.line),
    end_line: Math.max(1, a.line),
    annotation_level: a.level,
    message: truncate(redact(a.message), 64_000),
    ...(a.title ? { title: truncate(redact(a.title), 255) } : {}),
  };
}
