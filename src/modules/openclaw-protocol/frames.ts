// The request frame of protocol v4: {"type":"req","id","method","params"?}. Anything else is not one.

export interface RequestFrame {
  id: string;
  method: string;
  params: unknown;
}

const MAX_ID_CHARS = 256;
const MAX_METHOD_CHARS = 200;

/** The frame if it is a well-formed request (null for a binary frame, bad JSON or another shape). */
export function parseRequestFrame(text: string | null): RequestFrame | null {
  if (text === null) return null;
  let f: unknown;
  try {
    f = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof f !== "object" || f === null) return null;
  const { type, id, method, params } = f as Record<string, unknown>;
  if (type !== "req" || typeof id !== "string" || id.length === 0 || id.length > MAX_ID_CHARS) return null;
  if (typeof method !== "string" || method.length === 0 || method.length > MAX_METHOD_CHARS) return null;
  return { id, method, params };
}
