// xterm.js under the console's CSP (style-src 'self', no inline style). xterm's DOM renderer puts
// three <style> elements into the page (theme, cell dimensions, scroll area) and fills them by
// setting textContent; the CSP refuses those, which leaves the terminal unsized and colourless.
// While a terminal is opened, document.createElement("style") hands xterm a stand-in element whose
// textContent goes into a constructable stylesheet adopted by the document instead: CSSOM, which the
// CSP governs no more than it governs element.style (only markup and <style>/style= are refused).

class SheetElement extends HTMLElement {
  private readonly sheet = new CSSStyleSheet();
  private css = "";
  override get textContent(): string {
    return this.css;
  }
  override set textContent(css: string | null) {
    this.css = css ?? "";
    this.sheet.replaceSync(this.css);
  }
  connectedCallback(): void {
    if (!document.adoptedStyleSheets.includes(this.sheet)) document.adoptedStyleSheets = [...document.adoptedStyleSheets, this.sheet];
  }
  disconnectedCallback(): void {
    document.adoptedStyleSheets = document.adoptedStyleSheets.filter((s) => s !== this.sheet);
  }
}

const TAG = "ocmu-sheet";

/** Runs `fn` (Terminal.open) with xterm's style elements redirected to adopted stylesheets. */
export function withAdoptedStyles<T>(fn: () => T): T {
  if (!customElements.get(TAG)) customElements.define(TAG, SheetElement);
  const original = document.createElement;
  document.createElement = function (this: Document, tag: string, options?: ElementCreationOptions) {
    if (String(tag).toLowerCase() === "style") return original.call(this, TAG) as HTMLElement;
    return original.call(this, tag, options);
  } as typeof document.createElement;
  try {
    return fn();
  } finally {
    document.createElement = original;
  }
}
