// The repo stands alone: no file refers to documents or paths outside it (the old design notes,
// source documents or issue numbers of the project's planning), and every relative link in a
// markdown file points at a file of the repo. Cite docs/protocol.md §N, or say it in plain words.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(fileURLToPath(new URL("../../../", import.meta.url)));

// Built from parts so this file does not match itself.
const FORBIDDEN: { what: string; re: RegExp }[] = [
  { what: "a path beside the repo", re: new RegExp(escape(".." + "/shared")) },
  { what: "an absolute path of the build machine", re: new RegExp(escape("/" + "work/")) },
  { what: "the old design document", re: new RegExp(escape("DESIGN" + ".md")) },
  { what: "the old style guide", re: new RegExp(escape("STYLE" + ".md")) },
  { what: "the source documents folder", re: new RegExp(escape("seeds" + "/")) },
  { what: "a source document by number", re: new RegExp("seed 00" + "\\d", "i") },
  { what: "an issue number", re: new RegExp("\\bissue #?" + "\\d+", "i") },
];

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/** Tracked files (`git ls-files`), or a walk of the tree when this is not a git checkout. */
function repoFiles(): string[] {
  if (existsSync(join(ROOT, ".git"))) {
    try {
      const out = execFileSync("git", ["ls-files", "-z"], { cwd: ROOT, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
      return out.split("\0").filter((f) => f && existsSync(join(ROOT, f)));
    } catch {
      // no git binary: walk instead
    }
  }
  return walkFiles(ROOT);
}

/**
 * Every file under `root` (paths relative to it, `/`-separated), skipping `.git`, `node_modules`,
 * `lib` and the folders and `*.ext` patterns of the root `.gitignore`.
 */
export function walkFiles(root: string): string[] {
  const skipDirs = new Set([".git", "node_modules", "lib"]);
  const skipExt: string[] = [];
  const ignore = join(root, ".gitignore");
  for (const raw of existsSync(ignore) ? readFileSync(ignore, "utf8").split("\n") : []) {
    const line = raw.trim();
    if (!line || line.startsWith("#") || line.startsWith("!")) continue;
    if (/^\*\.[^*/]+$/.test(line)) skipExt.push(line.slice(1));
    else if (!line.includes("*")) skipDirs.add(line.replace(/^\//, "").replace(/\/$/, ""));
  }
  const walk = (dir: string): string[] =>
    readdirSync(join(root, dir)).flatMap((name) => {
      const rel = dir ? `${dir}/${name}` : name;
      if (skipDirs.has(rel) || skipDirs.has(name)) return [];
      if (statSync(join(root, rel)).isDirectory()) return walk(rel);
      return skipExt.some((e) => name.endsWith(e)) ? [] : [rel];
    });
  return walk("");
}

/** Text of a file, or undefined for binary files. */
function textOf(file: string): string | undefined {
  const buf = readFileSync(join(ROOT, file));
  if (buf.includes(0)) return undefined;
  return buf.toString("utf8");
}

/** `file:line: what (the matching text)` for every forbidden reference in `text`. */
export function forbiddenReferences(file: string, text: string): string[] {
  const hits: string[] = [];
  text.split("\n").forEach((line, i) => {
    for (const { what, re } of FORBIDDEN) {
      const m = re.exec(line);
      if (m) hits.push(`${file}:${i + 1}: ${what} (${JSON.stringify(m[0])})`);
    }
  });
  return hits;
}

/**
 * Relative link targets of a markdown text with their lines: inline links and images `[x](t)`,
 * reference definitions `[x]: t`. Fenced code blocks and inline code are skipped.
 */
export function markdownLinks(text: string): { line: number; target: string }[] {
  const out: { line: number; target: string }[] = [];
  let fenced = false;
  text.split("\n").forEach((raw, i) => {
    if (/^\s*(```|~~~)/.test(raw)) {
      fenced = !fenced;
      return;
    }
    if (fenced) return;
    const line = raw.replace(/`[^`]*`/g, "");
    const targets: string[] = [];
    for (const m of line.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) targets.push(m[1]!);
    const def = /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/.exec(line);
    if (def) targets.push(def[1]!);
    for (const target of targets) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("#") || target.startsWith("//")) continue;
      out.push({ line: i + 1, target });
    }
  });
  return out;
}

/** `file:line: ...` for every relative link that leaves the repo or names a missing file. */
function brokenLinks(file: string, text: string): string[] {
  const hits: string[] = [];
  for (const { line, target } of markdownLinks(text)) {
    const path = decodeURIComponent(target.split("#")[0]!.split("?")[0]!);
    if (path === "") continue;
    const abs = path.startsWith("/") ? join(ROOT, path) : resolve(ROOT, dirname(file), path);
    const rel = relative(ROOT, abs);
    if (rel === ".." || rel.startsWith(`..${sep}`)) hits.push(`${file}:${line}: link leaves the repo (${target})`);
    else if (!existsSync(abs)) hits.push(`${file}:${line}: link to a missing file (${target})`);
  }
  return hits;
}

test("no tracked file refers to anything outside the repo", () => {
  const files = repoFiles();
  assert.ok(files.length > 50, `found only ${files.length} files under ${ROOT}`);
  const hits: string[] = [];
  for (const file of files) {
    const text = textOf(file);
    if (text === undefined) continue;
    hits.push(...forbiddenReferences(file, text));
    if (/\.md$/i.test(file)) hits.push(...brokenLinks(file, text));
  }
  assert.deepEqual(hits, [], `${hits.length} reference(s) outside the repo:\n${hits.join("\n")}`);
});

test("the reference check catches what it must and passes what it should", () => {
  const bad = [
    "see " + "../" + "shared/x",
    "DESIGN" + ".md §4",
    "per seed " + "001",
    "(Issue " + "#7)",
    "from " + "/" + "work/main",
    "STYLE" + ".md",
    "the seeds" + "/ folder",
  ];
  for (const line of bad) assert.equal(forbiddenReferences("x.ts", line).length, 1, line);
  const good = ["docs/protocol.md §4", "the Proof-of-Sync mining spec", "an issue with the seed", "tissue 12", "seed: 0x01", "issues list"];
  for (const line of good) assert.deepEqual(forbiddenReferences("x.ts", line), [], line);
  const links = markdownLinks(
    ["[a](docs/protocol.md#3-encoding) [b](https://x.y/z) [c](#top)", "```", "[d](nowhere.md)", "```", "`[e](no.md)` ![f](../up.png)", "[g]: ./lib.md"].join("\n"),
  );
  assert.deepEqual(links, [
    { line: 1, target: "docs/protocol.md#3-encoding" },
    { line: 5, target: "../up.png" },
    { line: 6, target: "./lib.md" },
  ]);
  assert.deepEqual(brokenLinks("README.md", "[p](docs/protocol.md) [q](../x.md) [r](docs/nope.md)"), [
    "README.md:1: link leaves the repo (../x.md)",
    "README.md:1: link to a missing file (docs/nope.md)",
  ]);
});

test("outside a git checkout the walk skips dependencies, build output and ignored folders", () => {
  const root = mkdtempSync(join(tmpdir(), "vision-refs-"));
  try {
    const files = ["src/a.ts", "docs/b.md", "node_modules/x/i.js", "lib/cli/index.js", ".build-cache/t.json", "bench/out/r.json", "bench/c.ts", "n.log", ".git/HEAD"];
    for (const f of files) {
      mkdirSync(dirname(join(root, f)), { recursive: true });
      writeFileSync(join(root, f), "x");
    }
    writeFileSync(join(root, ".gitignore"), "node_modules/\n/lib/\n/.build-cache/\n/bench/out/\n*.log\n");
    assert.deepEqual(walkFiles(root).sort(), [".gitignore", "bench/c.ts", "docs/b.md", "src/a.ts"]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
