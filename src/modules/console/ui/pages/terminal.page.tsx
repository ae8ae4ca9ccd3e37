// A shell in the tenant's sandbox: xterm.js over the tenant's WebSocket (terminal.* RPC). Keystrokes
// go as notifications (no answer awaited); output comes as terminal.output notifications to this
// connection only. When the socket drops, the page re-attaches to the same terminal (the gateway keeps
// it a few minutes) and replays what it missed. The terminal's id is kept for this tab only
// (sessionStorage) so a reload re-attaches too; it is no secret (only this tenant can attach).
// xterm.js is most of the console's code: it is loaded (a chunk of its own) only when this page opens,
// so every other page's first load does not parse it.
import type { FitAddon as FitAddonT } from "@xterm/addon-fit";
import type { Terminal as TerminalT } from "@xterm/xterm";
import { useEffect, useRef, useState } from "preact/hooks";
import type { Api } from "../lib/api.ts";
import { definePage } from "../lib/page.ts";
import { ErrorBox, Loading, PageHeader } from "../lib/ui.tsx";
import { withAdoptedStyles } from "../lib/xterm-csp.ts";

const KEY = "ocmu.terminalId";
/** At most one terminal.input per this many ms (40 a second, under the WebSocket's 50 frames a second). */
const INPUT_GAP_MS = 25;

type Status = "connecting" | "open" | "reconnecting" | "exited" | "closed";

function TerminalPage({ api }: { api: Api }) {
  const boxRef = useRef<HTMLDivElement>(null);
  const [status, setStatus] = useState<Status>("connecting");
  const [detail, setDetail] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [generation, setGeneration] = useState(0);
  const idRef = useRef<string | null>(null);

  useEffect(() => {
    const box = boxRef.current;
    if (!box) return;
    let disposed = false;
    let teardown: (() => void) | null = null;
    void (async () => {
      const [{ Terminal }, { FitAddon }] = await Promise.all([import("@xterm/xterm"), import("@xterm/addon-fit")]);
      if (disposed) return;
      teardown = run(box, new Terminal({ cursorBlink: true, convertEol: false, fontFamily: "ui-monospace, Menlo, Consolas, monospace", fontSize: 14, scrollback: 5000, screenReaderMode: false }), new FitAddon());
    })().catch((err) => !disposed && (setError(err), setStatus("closed")));
    return () => {
      disposed = true;
      teardown?.();
    };

    function run(box: HTMLDivElement, term: TerminalT, fit: FitAddonT): () => void {
      term.loadAddon(fit);
      withAdoptedStyles(() => term.open(box));
      const safeFit = () => {
        try {
          fit.fit();
        } catch {
          // not laid out yet
        }
      };
      safeFit();
      let lastSeq = -1;

      const attach = async (): Promise<boolean> => {
        const id = idRef.current ?? sessionStorage.getItem(KEY);
        if (!id) return false;
        try {
          const r = await api.rpc<{ terminalId: string; replay: string }>("terminal.attach", { terminalId: id });
          if (disposed) return true;
          idRef.current = r.terminalId;
          term.reset();
          if (r.replay) term.write(r.replay);
          api.rpc("terminal.resize", { terminalId: r.terminalId, cols: term.cols, rows: term.rows }).catch(() => undefined);
          return true;
        } catch {
          sessionStorage.removeItem(KEY);
          idRef.current = null;
          return false;
        }
      };

      const open = async () => {
        setStatus("connecting");
        setError(null);
        try {
          if (!(await attach())) {
            const r = await api.rpc<{ terminalId: string; mode: string }>("terminal.open", { cols: term.cols, rows: term.rows });
            if (disposed) return void api.rpc("terminal.close", { terminalId: r.terminalId }).catch(() => undefined);
            idRef.current = r.terminalId;
            sessionStorage.setItem(KEY, r.terminalId);
            setDetail(`sandbox: ${r.mode}`);
          }
          if (disposed) return;
          setStatus("open");
          term.focus();
        } catch (err) {
          if (!disposed) {
            setError(err);
            setStatus("closed");
          }
        }
      };

      const offs = [
        api.onEvent("terminal.output", (p) => {
          if (p?.terminalId !== idRef.current) return;
          if (typeof p.seq === "number") {
            if (p.seq <= lastSeq) return;
            lastSeq = p.seq;
          }
          term.write(String(p.data ?? ""));
        }),
        api.onEvent("terminal.exit", (p) => {
          if (p?.terminalId !== idRef.current) return;
          sessionStorage.removeItem(KEY);
          idRef.current = null;
          setStatus("exited");
          setDetail(`the shell ended (${p.reason ?? "exit"}${p.code !== undefined && p.code !== null ? `, code ${p.code}` : ""})`);
          term.write("\r\n[terminal closed]\r\n");
        }),
        api.onEvent("$close", () => {
          if (!disposed && idRef.current) setStatus("reconnecting");
        }),
        api.onEvent("$open", () => {
          // A new connection: the terminal stayed alive on the gateway; attach this connection to it.
          if (!disposed && idRef.current) attach().then((ok) => !disposed && setStatus(ok ? "open" : "closed"));
        }),
      ];
      // The terminal takes every key, Tab included: F6 leaves it (no keyboard trap).
      term.attachCustomKeyEventHandler((e) => {
        if (e.key === "F6" && e.type === "keydown") {
          (document.querySelector("main .page-header button") as HTMLElement | null)?.focus();
          return false;
        }
        return true;
      });
      // Keystrokes go at once when none went in the last INPUT_GAP_MS; otherwise they are joined and
      // sent when the gap has passed. The gateway refuses frames past gateway.websocket.messagesPerSecond
      // (50 by default) without an answer — a held key or fast typing must not lose characters.
      let pending = "";
      let lastSent = 0;
      let flushTimer: ReturnType<typeof setTimeout> | null = null;
      const flush = () => {
        flushTimer = null;
        if (!pending || !idRef.current) return void (pending = "");
        api.notify("terminal.input", { terminalId: idRef.current, data: pending });
        pending = "";
        lastSent = performance.now();
      };
      const input = term.onData((data) => {
        if (!idRef.current) return;
        pending += data;
        if (flushTimer) return;
        const wait = lastSent + INPUT_GAP_MS - performance.now();
        if (wait <= 0) flush();
        else flushTimer = setTimeout(flush, wait);
      });
      const resized = term.onResize(({ cols, rows }) => {
        if (idRef.current) api.rpc("terminal.resize", { terminalId: idRef.current, cols, rows }).catch(() => undefined);
      });
      const observer = new ResizeObserver(() => safeFit());
      observer.observe(box);
      void open();

      return () => {
        observer.disconnect();
        input.dispose();
        if (flushTimer) clearTimeout(flushTimer);
        resized.dispose();
        offs.forEach((off) => off());
        term.dispose();
        // Leaving the page detaches; the terminal lives on for the reconnect window (close ends it).
      };
    }
  }, [api, generation]);

  const close = async () => {
    const id = idRef.current;
    if (!id) return;
    try {
      await api.rpc("terminal.close", { terminalId: id });
    } catch (err) {
      setError(err);
    }
    sessionStorage.removeItem(KEY);
    idRef.current = null;
    setStatus("closed");
  };

  return (
    <section aria-labelledby="page-title">
      <PageHeader
        title="Terminal"
        actions={
          <>
            {status === "open" || status === "reconnecting" ? (
              <button type="button" onClick={close}>
                Close terminal
              </button>
            ) : (
              <button type="button" class="primary" onClick={() => setGeneration((g) => g + 1)} disabled={status === "connecting"}>
                New terminal
              </button>
            )}
          </>
        }
      />
      <p class="status-line" role="status" aria-live="polite">
        {status === "connecting" && "Opening a shell in your sandbox…"}
        {status === "open" && `Connected${detail ? ` (${detail})` : ""}. Keys go to the shell; F6 leaves it.`}
        {status === "reconnecting" && "Connection lost: reconnecting to the same terminal…"}
        {status === "exited" && `Closed: ${detail}.`}
        {status === "closed" && "No terminal open."}
      </p>
      {status === "connecting" && <Loading label="Starting the terminal…" />}
      {error !== null && <ErrorBox error={error} retry={() => setGeneration((g) => g + 1)} />}
      <div class="terminal-box" ref={boxRef} aria-label="Terminal" />
    </section>
  );
}

export default definePage({ id: "terminal", component: TerminalPage });
