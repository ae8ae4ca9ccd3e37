// `audit verify`: recomputes the hash chain across one or more files (oldest first, found by their
// first seq), and compares it with the records committed to state.db when that anchor is given.
// Edits, deletions, reorderings and truncations all fail, naming the first bad line. With the live
// log among the files, records missing before the first file are accepted only if they were rotated
// away (written to a file before the one the writer last appended to), and then their committed
// copies in state.db must verify from the start of the chain.
import fs from "node:fs";
import path from "node:path";
import { canonicalJson } from "../../lib/canonical-json.ts";
import { computeHash, GENESIS_HASH, type AuditRecord } from "./audit.record.ts";

export interface VerifyAnchor {
  head(): { seq: number; hash: string };
  hashesBetween(from: number, to: number): Map<number, string>;
  /** The first seq of the file the writer last appended to (null: unknown). */
  liveFileStart?(): number | null;
  /** Committed records in a seq range, in order. */
  committedLines?(from: number, to: number): { seq: number; hash: string; line: string }[];
}

export interface VerifyOptions {
  anchor?: VerifyAnchor;
  /** The live log path: when it is among the files, the chain must reach the committed head. */
  liveFile?: string;
}

export interface VerifyProblem {
  file: string;
  line: number;
  seq?: number;
  message: string;
}

export interface VerifyReport {
  ok: boolean;
  files: string[];
  records: number;
  firstSeq: number | null;
  lastSeq: number | null;
  lastHash: string | null;
  problem?: VerifyProblem;
  warnings: string[];
  /** Records not in the files that were rotated away, and whose committed copies verify. */
  rotatedAway?: { from: number; to: number };
}

const SEEN_LIMIT = 200_000;
const ANCHOR_BATCH = 5_000;

/** The live log plus its rotated siblings (audit.log.1, audit.log.2.gz, audit.log-20261129…). */
export function discoverLogFiles(live: string): string[] {
  const dir = path.dirname(live);
  const base = path.basename(live);
  if (!fs.existsSync(dir)) return [];
  const out = fs
    .readdirSync(dir)
    .filter((n) => n === base || n.startsWith(`${base}.`) || n.startsWith(`${base}-`))
    .filter((n) => !n.endsWith(".tmp"))
    .map((n) => path.join(dir, n));
  return out;
}

function readLogText(file: string): string {
  const bytes = fs.readFileSync(file);
  if (file.endsWith(".gz")) return Buffer.from(Bun.gunzipSync(bytes)).toString("utf8");
  return bytes.toString("utf8");
}

function firstSeq(text: string): number {
  const nl = text.indexOf("\n");
  try {
    const rec = JSON.parse(nl < 0 ? text : text.slice(0, nl)) as { seq?: unknown };
    return typeof rec.seq === "number" ? rec.seq : Number.MAX_SAFE_INTEGER;
  } catch {
    return Number.MAX_SAFE_INTEGER;
  }
}

export function verifyAuditFiles(files: string[], opts: VerifyOptions = {}): VerifyReport {
  const texts = files.map((f) => ({ file: f, text: readLogText(f) }));
  // Order by each file's first record, so rotated names in any scheme sort correctly.
  texts.sort((a, b) => firstSeq(a.text) - firstSeq(b.text));
  const report: VerifyReport = { ok: true, files: texts.map((t) => t.file), records: 0, firstSeq: null, lastSeq: null, lastHash: null, warnings: [] };
  const seen = new Map<number, string>();
  let lastSeq = 0;
  let lastHash: string | null = null;
  let first: { file: string; line: number; prev: string } | null = null;
  let batch: { seq: number; hash: string; file: string; line: number }[] = [];

  const fail = (p: VerifyProblem): VerifyReport => ({ ...report, ok: false, problem: p, lastSeq: lastSeq || null, lastHash });

  const checkBatch = (): VerifyProblem | undefined => {
    if (!opts.anchor || batch.length === 0) return undefined;
    const committed = opts.anchor.hashesBetween(batch[0]!.seq, batch[batch.length - 1]!.seq);
    batch.sort((a, b) => a.seq - b.seq);
    for (const b of batch) {
      const h = committed.get(b.seq);
      if (h !== undefined && h !== b.hash) {
        return { file: b.file, line: b.line, seq: b.seq, message: "differs from the record committed in state.db (edited and re-chained)" };
      }
    }
    batch = [];
    return undefined;
  };

  let sawLive = false;
  for (const { file, text } of texts) {
    if (opts.liveFile && path.resolve(file) === path.resolve(opts.liveFile)) sawLive = true;
    const lines = text.split("\n");
    const complete = text.length === 0 || text.endsWith("\n");
    if (complete) lines.pop();
    let overlap = report.records > 0;
    for (let i = 0; i < lines.length; i++) {
      const lineNo = i + 1;
      const line = lines[i]!;
      if (!complete && i === lines.length - 1) {
        return fail({ file, line: lineNo, message: "the last line is incomplete (truncated or torn write)" });
      }
      let rec: AuditRecord;
      try {
        rec = JSON.parse(line) as AuditRecord;
      } catch {
        return fail({ file, line: lineNo, message: "not valid JSON (edited or truncated)" });
      }
      if (!rec || typeof rec !== "object" || typeof rec.seq !== "number" || typeof rec.hash !== "string" || typeof rec.prev !== "string") {
        return fail({ file, line: lineNo, message: "not an audit record (missing seq, prev or hash)" });
      }
      const { hash, ...body } = rec;
      let canonical: string;
      try {
        canonical = canonicalJson(rec);
      } catch {
        return fail({ file, line: lineNo, seq: rec.seq, message: "record contains values that cannot be canonicalised (edited)" });
      }
      if (canonical !== line || computeHash(body) !== hash) {
        return fail({ file, line: lineNo, seq: rec.seq, message: "hash does not match the record (edited)" });
      }
      if (overlap && rec.seq <= lastSeq) {
        // The start of a file may repeat records already seen (replay after a copytruncate).
        if (seen.get(rec.seq) !== hash) {
          return fail({ file, line: lineNo, seq: rec.seq, message: `seq ${rec.seq} repeats an earlier seq with different content (reordered or forged)` });
        }
        continue;
      }
      overlap = false;
      if (lastHash === null) {
        if (rec.seq === 1 && rec.prev !== GENESIS_HASH) {
          return fail({ file, line: lineNo, seq: rec.seq, message: "the first record does not start the chain" });
        }
        if (rec.seq !== 1) report.warnings.push(`the chain starts at seq ${rec.seq}; earlier records are in files not given`);
        report.firstSeq = rec.seq;
        first = { file, line: lineNo, prev: rec.prev };
      } else if (rec.seq <= lastSeq) {
        return fail({ file, line: lineNo, seq: rec.seq, message: `seq ${rec.seq} after seq ${lastSeq} (reordered or duplicated)` });
      } else if (rec.seq !== lastSeq + 1) {
        return fail({ file, line: lineNo, seq: rec.seq, message: `seq ${rec.seq} follows seq ${lastSeq}: ${rec.seq - lastSeq - 1} record(s) missing (deleted)` });
      } else if (rec.prev !== lastHash) {
        return fail({ file, line: lineNo, seq: rec.seq, message: "prev does not match the hash of the record before it (chain broken)" });
      }
      lastSeq = rec.seq;
      lastHash = hash;
      report.records++;
      seen.set(rec.seq, hash);
      if (seen.size > SEEN_LIMIT) seen.delete(seen.keys().next().value!);
      batch.push({ seq: rec.seq, hash, file, line: lineNo });
      if (batch.length >= ANCHOR_BATCH) {
        const p = checkBatch();
        if (p) return fail(p);
      }
    }
  }
  const p = checkBatch();
  if (p) return fail(p);
  report.lastSeq = lastSeq || null;
  report.lastHash = lastHash;
  if (opts.anchor) {
    const head = opts.anchor.head();
    const last = texts.length ? texts[texts.length - 1]! : undefined;
    if (sawLive && lastSeq < head.seq) {
      return fail({
        file: last?.file ?? opts.liveFile ?? "",
        line: last ? last.text.split("\n").filter(Boolean).length : 0,
        seq: lastSeq,
        message: `the log ends at seq ${lastSeq}, but state.db has committed records up to seq ${head.seq} (records removed from the end)`,
      });
    }
    if (lastSeq > head.seq) report.warnings.push(`records after seq ${head.seq} are not in state.db (a change was logged but not committed)`);
    if (sawLive && first && report.firstSeq !== null && report.firstSeq > 1) {
      const problem = checkRotatedAway(opts.anchor, report.firstSeq, first);
      if (problem) return fail(problem);
      report.warnings = report.warnings.filter((w) => !w.startsWith("the chain starts at seq"));
      report.rotatedAway = { from: 1, to: report.firstSeq - 1 };
    }
  }
  return report;
}

/**
 * Records 1..firstSeq-1 are in none of the files. That is a deletion unless they were written to a
 * file before the one the writer last appended to (rotated away, its file since removed); then each
 * committed copy must verify and chain from the start to the files' first record.
 */
function checkRotatedAway(anchor: VerifyAnchor, firstSeq: number, first: { file: string; line: number; prev: string }): VerifyProblem | undefined {
  const at = { file: first.file, line: first.line, seq: firstSeq };
  const start = anchor.liveFileStart?.() ?? null;
  const missing = `seq 1..${firstSeq - 1}`;
  if (start === null || !anchor.committedLines) {
    return { ...at, message: `the log starts at seq ${firstSeq}: records ${missing} are missing, and state.db cannot show they were rotated away` };
  }
  if (firstSeq > start) {
    return { ...at, message: `the log starts at seq ${firstSeq}, but the live log began at seq ${start} (state.db): records ${start}..${firstSeq - 1} were removed, not rotated away` };
  }
  let prev = GENESIS_HASH;
  let expect = 1;
  const db = (seq: number, message: string): VerifyProblem => ({ file: "state.db", line: 0, seq, message: `committed copy of seq ${seq} (rotated away): ${message}` });
  for (let from = 1; from < firstSeq; from += ANCHOR_BATCH) {
    for (const row of anchor.committedLines(from, Math.min(firstSeq - 1, from + ANCHOR_BATCH - 1))) {
      if (row.seq !== expect) return db(expect, "missing from state.db");
      let rec: AuditRecord;
      try {
        rec = JSON.parse(row.line) as AuditRecord;
      } catch {
        return db(row.seq, "not valid JSON");
      }
      const { hash, ...body } = rec;
      if (rec.seq !== row.seq || hash !== row.hash || canonicalJson(rec) !== row.line || computeHash(body) !== hash) return db(row.seq, "does not match its hash (edited)");
      if (rec.prev !== prev) return db(row.seq, "prev does not match the record before it (chain broken)");
      prev = hash;
      expect++;
    }
  }
  if (expect !== firstSeq) return db(expect, "missing from state.db");
  if (first.prev !== prev) return { ...at, message: `prev does not match the committed copy of seq ${firstSeq - 1} (chain broken)` };
  return undefined;
}
