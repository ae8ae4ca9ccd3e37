// Global options may come before the subcommand as well as after it (`openclaw --home DIR tenants
// list`), as the contract says. citty takes the first word that is not an option as the subcommand,
// so `--home`'s value would be read as one: the global options are moved behind the command path
// (before any `--`, whose arguments belong to the command being run).
const WITH_VALUE = new Set(["--home"]);
const FLAGS = new Set(["--json"]);

export function hoistGlobalOptions(args: readonly string[]): string[] {
  const dashdash = args.indexOf("--");
  const head = dashdash < 0 ? args : args.slice(0, dashdash);
  const tail = dashdash < 0 ? [] : args.slice(dashdash);
  const rest: string[] = [];
  const globals: string[] = [];
  for (let i = 0; i < head.length; i++) {
    const a = head[i]!;
    if (FLAGS.has(a) || [...WITH_VALUE].some((o) => a.startsWith(`${o}=`))) globals.push(a);
    else if (WITH_VALUE.has(a) && i + 1 < head.length) globals.push(a, head[++i]!);
    else rest.push(a);
  }
  return [...rest, ...globals, ...tail];
}
