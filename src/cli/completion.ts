// `openclaw completion bash|zsh|fish`: a completion script generated from the command tree itself
// (command-tree.ts), so every module's commands and options complete without a list kept by hand.
// Each script holds one table (command path → the words that may follow) and walks the words typed
// so far through it, skipping options.
import { defineCommand, type CommandDef } from "citty";
import { completionTable } from "./command-tree.ts";
import { action, CliError, type CliRuntime, type Outcome } from "./context.ts";

export const SHELLS = ["bash", "zsh", "fish"] as const;
type Shell = (typeof SHELLS)[number];

/** Words are command and option names: letters, digits, "-", "." and "_" only (no quoting needed). */
const safe = (w: string) => /^[-\w.]+$/.test(w);

function table(t: Map<string, string[]>, arm: (path: string, words: string) => string): string {
  return [...t].map(([path, words]) => arm(path, words.filter(safe).join(" "))).join("\n");
}

export function completionScript(shell: Shell, t: Map<string, string[]>): string {
  if (shell === "bash") {
    return `# openclaw completion for bash: source it, or save it as /etc/bash_completion.d/openclaw
_openclaw_words() {
  case "$1" in
${table(t, (p, w) => `    "${p}") echo "${w}" ;;`)}
  esac
}
_openclaw() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" cmdpath="" w i
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ $w == -* ]] && continue
    [[ " $(_openclaw_words "$cmdpath") " == *" $w "* ]] && cmdpath="\${cmdpath:+$cmdpath }$w"
  done
  COMPREPLY=($(compgen -W "$(_openclaw_words "$cmdpath")" -- "$cur"))
}
complete -F _openclaw openclaw
`;
  }
  if (shell === "zsh") {
    return `#compdef openclaw
# openclaw completion for zsh: save it as _openclaw in a directory of $fpath, or source it after compinit
_openclaw_words() {
  case "$1" in
${table(t, (p, w) => `    "${p}") echo "${w}" ;;`)}
  esac
}
_openclaw() {
  local cmdpath="" w i
  for ((i = 2; i < CURRENT; i++)); do
    w="\${words[i]}"
    [[ $w == -* ]] && continue
    [[ " $(_openclaw_words "$cmdpath") " == *" $w "* ]] && cmdpath="\${cmdpath:+$cmdpath }$w"
  done
  compadd -- \${=$(_openclaw_words "$cmdpath")}
}
if (( $+functions[compdef] )); then compdef _openclaw openclaw; fi
`;
  }
  return `# openclaw completion for fish: save it as ~/.config/fish/completions/openclaw.fish
function __openclaw_words
  switch "$argv[1]"
${table(t, (p, w) => `    case '${p}'\n      echo ${w}`)}
  end
end
function __openclaw_complete
  set -l cmdpath ""
  for w in (commandline -opc)[2..-1]
    string match -q -- '-*' $w; and continue
    if contains -- $w (string split ' ' -- (__openclaw_words "$cmdpath"))
      set cmdpath (string trim -- "$cmdpath $w")
    end
  end
  string split ' ' -- (__openclaw_words "$cmdpath")
end
complete -c openclaw -f -a '(__openclaw_complete)'
`;
}

export function completionCommand(rt: CliRuntime, outcome: Outcome, root: () => CommandDef) {
  return defineCommand({
    meta: { name: "completion", description: "Print a shell completion script: openclaw completion bash|zsh|fish" },
    args: { shell: { type: "positional", required: true, description: "bash, zsh or fish" } },
    run: async ({ args }) => {
      outcome.code = await action(rt, {}, async () => {
        const shell = String(args.shell);
        if (!(SHELLS as readonly string[]).includes(shell)) throw new CliError(`completion: unknown shell "${shell}"; expected one of: ${SHELLS.join(", ")}`);
        rt.stdout(completionScript(shell as Shell, await completionTable(root())));
        return undefined;
      });
    },
  });
}
