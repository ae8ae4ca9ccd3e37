// The console's small component kit: every page builds from these so loading, empty and error states,
// labels and charts look and behave the same (and stay accessible) everywhere.
import type { ComponentChildren, JSX } from "preact";
import { useCallback, useEffect, useId, useRef, useState } from "preact/hooks";

export function Loading({ label = "Loading…" }: { label?: string }) {
  return (
    <div class="loading" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" />
      <span>{label}</span>
    </div>
  );
}

export function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

export function ErrorBox({ error, retry }: { error: unknown; retry?: () => void }) {
  const code = (error as { code?: string } | null)?.code;
  return (
    <div class="error-box" role="alert">
      <p>
        <strong>{code ? `${code}: ` : "Error: "}</strong>
        {errorText(error)}
      </p>
      {retry && (
        <button type="button" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}

export function PageHeader({ title, actions }: { title: string; actions?: ComponentChildren }) {
  return (
    <header class="page-header">
      <h1 id="page-title" tabIndex={-1}>
        {title}
      </h1>
      {actions && <div class="actions">{actions}</div>}
    </header>
  );
}

/** A label bound to its one control (the child gets the id). */
export function Field({ label, children, hint }: { label: string; children: JSX.Element; hint?: string }) {
  const id = useId();
  const child = { ...children, props: { ...children.props, id, "aria-describedby": hint ? `${id}-hint` : undefined } } as JSX.Element;
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {child}
      {hint && (
        <small id={`${id}-hint`} class="hint">
          {hint}
        </small>
      )}
    </div>
  );
}

export interface Column<R> {
  key: string;
  label: string;
  render?: (row: R) => ComponentChildren;
  /** Right-aligned (numbers). */
  num?: boolean;
}

export function DataTable<R extends Record<string, any>>({ columns, rows, empty, caption }: { columns: Column<R>[]; rows: R[]; empty: ComponentChildren; caption?: string }) {
  if (rows.length === 0) return <Empty>{empty}</Empty>;
  return (
    <div class="table-wrap" tabIndex={0} role="region" aria-label={caption ?? "table"}>
      <table>
        {caption && <caption>{caption}</caption>}
        <thead>
          <tr>
            {columns.map((c) => (
              <th scope="col" class={c.num ? "num" : undefined} key={c.key}>
                {c.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={i}>
              {columns.map((c) => (
                <td class={c.num ? "num" : undefined} key={c.key}>
                  {c.render ? c.render(r) : String(r[c.key] ?? "")}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/**
 * A bar chart in SVG. No style attributes (the CSP forbids inline style): geometry through SVG
 * attributes, colours through classes. Screen readers get the numbers as a visually hidden table.
 */
export function BarChart({ title, data, unit }: { title: string; data: { label: string; value: number }[]; unit: string }) {
  if (data.length === 0) return <Empty>No data for {title.toLowerCase()}.</Empty>;
  const max = Math.max(...data.map((d) => d.value), 0) || 1;
  const W = 600;
  const H = 220;
  const top = 16;
  const bottom = 40;
  const left = 8;
  const slot = (W - left * 2) / data.length;
  const bar = Math.max(2, Math.min(48, slot * 0.7));
  const fmt = (v: number) => (Number.isInteger(v) ? String(v) : v.toPrecision(3));
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${title}: ${data.map((d) => `${d.label} ${fmt(d.value)} ${unit}`).join(", ")}`} preserveAspectRatio="xMidYMid meet">
        <line x1={left} x2={W - left} y1={H - bottom} y2={H - bottom} class="axis" />
        {data.map((d, i) => {
          const h = ((H - top - bottom) * d.value) / max;
          const x = left + i * slot + (slot - bar) / 2;
          return (
            <g key={d.label}>
              <rect class="bar" x={x} y={H - bottom - h} width={bar} height={Math.max(h, d.value > 0 ? 1 : 0)}>
                <title>{`${d.label}: ${fmt(d.value)} ${unit}`}</title>
              </rect>
              {data.length <= 16 && (
                <text class="bar-label" x={x + bar / 2} y={H - bottom + 16} text-anchor="middle">
                  {d.label.length > 12 ? `${d.label.slice(0, 11)}…` : d.label}
                </text>
              )}
            </g>
          );
        })}
        <text class="bar-label" x={left} y={top - 4}>
          {`max ${fmt(max)} ${unit}`}
        </text>
      </svg>
      <table class="sr-only">
        <caption>{title}</caption>
        <thead>
          <tr>
            <th scope="col">Label</th>
            <th scope="col">{unit}</th>
          </tr>
        </thead>
        <tbody>
          {data.map((d) => (
            <tr key={d.label}>
              <td>{d.label}</td>
              <td>{fmt(d.value)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}

/** A button that asks once more before doing something that cannot be undone. */
export function ConfirmButton({ children, confirmLabel, onConfirm, class: cls, disabled }: { children: ComponentChildren; confirmLabel?: string; onConfirm: () => void | Promise<unknown>; class?: string; disabled?: boolean }) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const confirmRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (asking) confirmRef.current?.focus();
  }, [asking]);
  if (!asking)
    return (
      <button type="button" class={cls} disabled={disabled} onClick={() => setAsking(true)}>
        {children}
      </button>
    );
  return (
    <span class="confirm" role="group" aria-label="Confirm">
      <button
        type="button"
        class="danger"
        ref={confirmRef}
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          try {
            await onConfirm();
          } finally {
            setBusy(false);
            setAsking(false);
          }
        }}
      >
        {busy ? "Working…" : (confirmLabel ?? "Confirm")}
      </button>
      <button type="button" onClick={() => setAsking(false)} disabled={busy}>
        Cancel
      </button>
    </span>
  );
}

export interface AsyncState<T> {
  loading: boolean;
  error: unknown;
  data: T | undefined;
  reload: () => void;
}

/** Whether two dependency lists hold the same values (as hooks compare them). */
function sameDeps(a: readonly unknown[] | null, b: readonly unknown[]): boolean {
  return a !== null && a.length === b.length && a.every((x, i) => Object.is(x, b[i]));
}

/**
 * Runs `fn` when `deps` change (and on reload); the latest call wins. A reload keeps the data on
 * screen while it runs; a change of `deps` (another page, filter, folder, job) drops it, so what is
 * shown never answers another question than the one the page now asks. The data is kept with the deps
 * it answers and handed out only while they are still the page's: the render that follows a change
 * (before the effect has asked again) shows no old rows either — before, that render painted the old
 * rows under the new page's pager and heading (red team 20).
 */
export function useAsync<T>(fn: () => Promise<T>, deps: unknown[]): AsyncState<T> {
  const [state, setState] = useState<{ loading: boolean; error: unknown; data: T | undefined; deps: unknown[] | null }>({ loading: true, error: null, data: undefined, deps: null });
  const [tick, setTick] = useState(0);
  const seq = useRef(0);
  useEffect(() => {
    const my = ++seq.current;
    const asked = deps;
    setState((s) => ({ loading: true, error: null, data: sameDeps(s.deps, asked) ? s.data : undefined, deps: asked }));
    fn().then(
      (data) => my === seq.current && setState({ loading: false, error: null, data, deps: asked }),
      (error) => my === seq.current && setState((s) => ({ loading: false, error, data: sameDeps(s.deps, asked) ? s.data : undefined, deps: asked })),
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  if (!sameDeps(state.deps, deps)) return { loading: true, error: null, data: undefined, reload };
  return { loading: state.loading, error: state.error, data: state.data, reload };
}

/** Formats a byte count for people. */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function when(iso: string | number | undefined | null): string {
  if (iso === undefined || iso === null || iso === "") return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
}
