// What the platform stand-ins (slack.ts, whatsapp.ts, discord.ts) share: a queue of forced answers
// (429 with a retry hint, 5xx) that the next calls get instead of the normal one, and the record of calls.

export interface FakeCall {
  method: string;
  /** The path after the stand-in's API base, e.g. "/chat.postMessage". */
  path: string;
  headers: Record<string, string>;
  /** JSON or form fields, parsed. */
  body: any;
  /** The HTTP status answered, and whether the platform took the call (false: refused or injected). */
  status: number;
  ok: boolean;
}

export interface Injection {
  /** HTTP status to answer with (429, 500, 503…). */
  status: number;
  /** Seconds: sent as the platform does (Slack Retry-After header, Discord JSON retry_after + header, WhatsApp Retry-After). */
  retryAfter?: number;
  /** How many calls get this answer (default 1). */
  times?: number;
  /** Only calls whose path starts with this (default: any). */
  path?: string;
}

export function injectionQueue() {
  const queue: Injection[] = [];
  return {
    inject(i: Injection) {
      queue.push({ times: 1, ...i });
    },
    /** The injection the call at `path` gets, if any (consumed). */
    take(path: string): Injection | null {
      const idx = queue.findIndex((i) => !i.path || path.startsWith(i.path));
      if (idx < 0) return null;
      const i = queue[idx]!;
      i.times = (i.times ?? 1) - 1;
      if (i.times <= 0) queue.splice(idx, 1);
      return i;
    },
  };
}

export async function readBody(req: Request): Promise<any> {
  const text = await req.text();
  const type = req.headers.get("content-type") ?? "";
  if (type.includes("application/x-www-form-urlencoded")) return Object.fromEntries(new URLSearchParams(text));
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return text;
  }
}

export const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });

let seq = 0;
/** Ids that differ between calls and runs. */
export const nextId = (prefix = "") => `${prefix}${Date.now().toString(36)}${(++seq).toString(36)}`;
