// A strict reader of the Prometheus text exposition format (0.0.4), for reading /metrics back in
// tests: it refuses what Prometheus would refuse (samples of undeclared families, bad label syntax,
// histograms whose buckets are not cumulative or disagree with their count).

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: "counter" | "gauge" | "histogram" | "summary" | "untyped";
  help: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const lines = text.split("\n");
  lines.forEach((line, index) => {
    const where = `line ${index + 1}: ${line}`;
    if (line.trim() === "") return;
    if (line.startsWith("# HELP ") || line.startsWith("# TYPE ")) return declare(families, line, where);
    if (line.startsWith("#")) return;
    const sample = parseSample(line, where);
    const family = families.get(familyOf(sample.name, families));
    if (!family) throw new Error(`${where}: sample of an undeclared family`);
    family.samples.push(sample);
  });
  for (const family of families.values()) if (family.type === "histogram") checkHistogram(family);
  return families;
}

function declare(families: Map<string, Family>, line: string, where: string): void {
  const [, keyword, name, ...rest] = line.split(" ");
  if (!NAME.test(name)) throw new Error(`${where}: bad metric name`);
  const family = families.get(name) ?? { name, type: "untyped", help: "", samples: [] };
  if (keyword === "HELP") family.help = rest.join(" ");
  else {
    const type = rest[0] as Family["type"];
    if (!["counter", "gauge", "histogram", "summary", "untyped"].includes(type)) throw new Error(`${where}: bad type`);
    family.type = type;
  }
  families.set(name, family);
}

function familyOf(sampleName: string, families: Map<string, Family>): string {
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    const base = sampleName.slice(0, -suffix.length);
    if (sampleName.endsWith(suffix) && families.get(base)?.type === "histogram") return base;
  }
  return sampleName;
}

function parseSample(line: string, where: string): Sample {
  const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)(\s+-?\d+)?$/.exec(line);
  if (!match) throw new Error(`${where}: not a sample`);
  const [, name, labelText, valueText] = match;
  return { name, labels: labelText ? parseLabels(labelText.slice(1, -1), where) : {}, value: parseValue(valueText, where) };
}

function parseLabels(text: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf("=", i);
    const name = text.slice(i, eq);
    if (eq < 0 || !LABEL_NAME.test(name) || text[eq + 1] !== '"') throw new Error(`${where}: bad label at ${i}`);
    let value = "";
    let j = eq + 2;
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] !== "\\") {
        value += text[j];
        continue;
      }
      const escaped = text[++j];
      value += escaped === "n" ? "\n" : escaped;
    }
    if (j >= text.length) throw new Error(`${where}: unterminated label value`);
    if (name in labels) throw new Error(`${where}: label ${name} twice`);
    labels[name] = value;
    i = j + 1;
    if (text[i] === ",") i++;
  }
  return labels;
}

function parseValue(text: string, where: string): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (text === "NaN") return NaN;
  const value = Number(text);
  if (Number.isNaN(value)) throw new Error(`${where}: bad value`);
  return value;
}

function checkHistogram(family: Family): void {
  const series = new Map<string, { buckets: Array<[number, number]>; count?: number }>();
  for (const s of family.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const entry = series.get(key) ?? { buckets: [] };
    if (s.name.endsWith("_bucket")) entry.buckets.push([parseValue(le, family.name), s.value]);
    if (s.name.endsWith("_count")) entry.count = s.value;
    series.set(key, entry);
  }
  for (const [key, { buckets, count }] of series) {
    const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
    sorted.forEach(([, v], i) => {
      if (i > 0 && v < sorted[i - 1][1]) throw new Error(`${family.name} ${key}: buckets are not cumulative`);
    });
    const inf = sorted.at(-1);
    if (!inf || inf[0] !== Infinity || inf[1] !== count) throw new Error(`${family.name} ${key}: +Inf bucket disagrees with _count`);
  }
}

/** The value of the one sample of `name` whose labels include `labels`. */
export function valueOf(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  const family = families.get(familyOf(name, families));
  const matches = (family?.samples ?? []).filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (matches.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${matches.length} samples`);
  return matches[0]?.value;
}
