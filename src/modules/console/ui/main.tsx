// The console's shell: sign-in, the layout with the navigation of the session's face, hash routing
// (/ui/#/<page>) and sign-out. The token or admin key typed into the sign-in form goes to
// POST /ui/api/session once and is dropped; the session lives in an HttpOnly cookie the page cannot
// read. Pages come from every `*.page.tsx` (the generated entry passes them to start()).
import "@xterm/xterm/css/xterm.css";
import "./console.css";
import { render } from "preact";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { createApi, currentSession, signIn, type Api, type PageMeta, type Session } from "./lib/api.ts";
import type { PageDef } from "./lib/page.ts";
import { ErrorBox, Field, Loading } from "./lib/ui.tsx";

function routeOf(hash: string): string {
  const m = /^#\/([a-z0-9-]+)/.exec(hash);
  return m?.[1] ?? "";
}

function useHashRoute(): string {
  const [route, setRoute] = useState(() => routeOf(location.hash));
  useEffect(() => {
    const on = () => setRoute(routeOf(location.hash));
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return route;
}

function SignIn({ onSession }: { onSession: (s: Session) => void }) {
  const [secret, setSecret] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!secret.trim()) return setError(new Error("Paste your tenant token or the admin key."));
    setBusy(true);
    setError(null);
    try {
      const s = await signIn(secret);
      setSecret(""); // never kept: the cookie carries the session from here
      onSession(s);
    } catch (err) {
      setError((err as { status?: number }).status === 401 ? new Error("Sign-in failed: the token or key was not accepted.") : err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" class="signin">
      <form onSubmit={submit} class="card" aria-labelledby="signin-title">
        <h1 id="signin-title">OpenClawMU console</h1>
        <p>Paste your tenant token (ocmu_…) or, as the operator, the admin key (ocmu_admin_…). It is exchanged for a session cookie and not stored by this page.</p>
        <Field label="Token or admin key">
          <input type="password" name="secret" autoComplete="off" spellcheck={false} value={secret} onInput={(e) => setSecret((e.target as HTMLInputElement).value)} required />
        </Field>
        {error !== null && <ErrorBox error={error} />}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
        {busy && <Loading label="Signing in…" />}
      </form>
    </main>
  );
}

function Shell({ session, pages, onSignedOut }: { session: Session; pages: Map<string, PageDef>; onSignedOut: () => void }) {
  const face = session.kind === "admin" ? "operator" : "tenant";
  const nav: PageMeta[] = useMemo(() => session.pages.filter((p) => p.face === face).sort((a, b) => a.order - b.order), [session, face]);
  const handle = useMemo(() => createApi(session, onSignedOut), [session]);
  const api: Api = handle;
  // A shell that goes (signed out, or its session ended) leaves no socket reconnecting behind it.
  useEffect(() => () => handle.dispose(), [handle]);
  const route = useHashRoute();
  const current = nav.find((p) => p.id === route) ?? nav[0];
  const Page = current ? pages.get(current.id)?.component : undefined;
  const mainRef = useRef<HTMLElement>(null);
  const [menuOpen, setMenuOpen] = useState(false);
  const [signingOut, setSigningOut] = useState(false);
  const first = useRef(true);

  useEffect(() => {
    if (current) document.title = `${current.title} · OpenClawMU`;
    setMenuOpen(false);
    // Move focus to the new page's heading (not on the first render: the skip link does that).
    if (first.current) first.current = false;
    else (mainRef.current?.querySelector("h1") as HTMLElement | null)?.focus();
  }, [current?.id]);

  const signOut = async () => {
    setSigningOut(true);
    try {
      await api.signOut();
    } catch {
      // the cookie may already be gone; the page forgets the session either way
    }
    onSignedOut();
  };

  return (
    <div class="layout">
      <a class="skip-link" href="#main" onClick={(e) => (e.preventDefault(), mainRef.current?.focus())}>
        Skip to content
      </a>
      <header class="topbar">
        <span class="brand">OpenClawMU</span>
        <span class="who">{session.kind === "admin" ? "Operator" : `Tenant ${session.tenantId ?? ""}`}</span>
        <button type="button" class="menu-toggle" aria-expanded={menuOpen} aria-controls="nav" onClick={() => setMenuOpen(!menuOpen)}>
          Menu
        </button>
        <button type="button" onClick={signOut} disabled={signingOut}>
          {signingOut ? "Signing out…" : "Sign out"}
        </button>
      </header>
      <nav id="nav" class={menuOpen ? "nav open" : "nav"} aria-label="Console">
        <ul>
          {nav.map((p) => (
            <li key={p.id}>
              <a href={`#/${p.id}`} aria-current={p.id === current?.id ? "page" : undefined}>
                {p.title}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" ref={mainRef} tabIndex={-1} class="content">
        {!current && <p>No pages are available for this sign-in.</p>}
        {current && !Page && (
          <>
            <h1 tabIndex={-1}>{current.title}</h1>
            <p>This page is not part of this build of the console.</p>
          </>
        )}
        {current && Page && <Page key={current.id} api={api} />}
      </main>
    </div>
  );
}

function App({ pages }: { pages: Map<string, PageDef> }) {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const load = () => {
    setError(null);
    currentSession().then(setSession, setError);
  };
  useEffect(load, []);
  if (error !== null)
    return (
      <main id="main" class="signin">
        <ErrorBox error={error} retry={load} />
      </main>
    );
  if (session === undefined)
    return (
      <main id="main" class="signin">
        <Loading label="Loading the console…" />
      </main>
    );
  if (session === null) return <SignIn onSession={setSession} />;
  return <Shell session={session} pages={pages} onSignedOut={() => setSession(null)} />;
}

export function start(defs: PageDef[]): void {
  const pages = new Map(defs.map((d) => [d.id, d]));
  const root = document.getElementById("app");
  if (!root) throw new Error("no #app element");
  root.textContent = "";
  render(<App pages={pages} />, root);
  document.documentElement.dataset.ready = "1";
}
