// Pieces the operator pages (and the cron, channels and skills pages) share beyond lib/ui.tsx: a
// secret shown once with a copy button, a file saved from the browser's own memory (a Blob, so no
// token or key ever travels in a URL), a status badge, and a small form-state hook.
import "./operator.css";
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";

/**
 * A secret (a tenant token, a signing key) shown once: it lives only in the state of the page that
 * received it and is gone when dismissed or when the page changes. Never written to storage.
 */
export function SecretOnce({ label, value, onDismiss, children }: { label: string; value: string; onDismiss: () => void; children?: ComponentChildren }) {
  const [copied, setCopied] = useState<"" | "copied" | "failed">("");
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => ref.current?.focus(), []);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied("copied");
    } catch {
      setCopied("failed");
    }
  };
  return (
    <div class="card secret-once" role="region" aria-label={label} tabIndex={-1} ref={ref}>
      <p>
        <strong>{label}</strong> — shown once. Copy it now: the gateway keeps only its hash and this page forgets it when you dismiss it.
      </p>
      {children}
      <div class="secret-row">
        <code class="secret-value" data-secret="1">
          {value}
        </code>
      </div>
      <div class="actions">
        <button type="button" class="primary" onClick={copy}>
          Copy
        </button>
        <button type="button" onClick={onDismiss}>
          Done, I have stored it
        </button>
        <span role="status" aria-live="polite">
          {copied === "copied" ? "Copied to the clipboard." : copied === "failed" ? "The browser refused the clipboard: select the text and copy it." : ""}
        </span>
      </div>
    </div>
  );
}

/** Saves text as a file, made in the page (a Blob URL, revoked once the download has started). */
export function saveFile(name: string, type: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.rel = "noopener";
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A CSV field: quoted when it holds a comma, quote or line break (RFC 4180). */
export function csvField(v: string | number | null | undefined): string {
  const s = v === null || v === undefined ? "" : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function Badge({ tone, children }: { tone: "ok" | "warn" | "bad" | "muted"; children: ComponentChildren }) {
  return <span class={`badge badge-${tone}`}>{children}</span>;
}

/** One busy flag and one error for a page's actions: `run(fn)` shows the loading state and the error. */
export function useAction(): { busy: string; error: unknown; run: (what: string, fn: () => Promise<unknown>) => Promise<boolean>; clear: () => void } {
  const [busy, setBusy] = useState("");
  const [error, setError] = useState<unknown>(null);
  return {
    busy,
    error,
    clear: () => setError(null),
    async run(what, fn) {
      setBusy(what);
      setError(null);
      try {
        await fn();
        return true;
      } catch (err) {
        setError(err);
        return false;
      } finally {
        setBusy("");
      }
    },
  };
}

/** The value of an input or select from its event. */
export const val = (e: Event): string => (e.target as HTMLInputElement).value;

/** "YYYY-MM-DD" of a time in UTC. */
export const utcDate = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

export const usd = (n: number): string => `$${n.toFixed(n >= 1 ? 2 : 4)}`;
