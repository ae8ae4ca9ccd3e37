// A console page: one file `<id>.page.tsx` in its module's folder, default-exporting definePage(...).
// The bundle's entry imports every such file (console.bundle.ts); the shell shows the pages the
// session lists for its face (each module's `console.pages` in its module def).
import type { JSX } from "preact";
import type { Api } from "./api.ts";

export interface PageProps {
  api: Api;
}

export interface PageDef {
  id: string;
  component: (props: PageProps) => JSX.Element;
}

export function definePage(def: PageDef): PageDef {
  return def;
}
