// How the extension finds the server: pure, so it is unit-tested without VS Code.

export interface ServerCommand {
  command: string;
  args: string[];
  /** Where the command came from, shown in the output channel. */
  source: "setting: escapeLsp.server.command" | "setting: escapeLsp.server.pythonPath" | "Python extension" | "PATH";
}

export interface ResolveInputs {
  configuredCommand: string[];
  configuredPython: string;
  /** The Python extension's active interpreter, when that extension is installed. */
  activeInterpreter?: string;
  /** `which`: the absolute path of an executable on PATH, if any. */
  which: (name: string) => string | undefined;
  /** Whether `python -c "import escape_lsp"` works with that interpreter. */
  canImport: (python: string) => boolean;
}

export const INSTALL_HINT =
  "escape-lsp was not found. Install it with `python3 -m pip install escape-lsp` (or `pip install -e .` " +
  "in a checkout), then set escapeLsp.server.pythonPath or put escape-lsp on PATH.";

export function resolveServer(inputs: ResolveInputs): ServerCommand | { error: string } {
  const [command, ...args] = inputs.configuredCommand;
  if (command) {
    return { command, args, source: "setting: escapeLsp.server.command" };
  }
  if (inputs.configuredPython) {
    return { command: inputs.configuredPython, args: ["-m", "escape_lsp", "serve"], source: "setting: escapeLsp.server.pythonPath" };
  }
  if (inputs.activeInterpreter && inputs.canImport(inputs.activeInterpreter)) {
    return { command: inputs.activeInterpreter, args: ["-m", "escape_lsp", "serve"], source: "Python extension" };
  }
  const onPath = inputs.which("escape-lsp");
  if (onPath) {
    return { command: onPath, args: ["serve"], source: "PATH" };
  }
  return { error: INSTALL_HINT };
}

/** A PATH lookup without dependencies. */
export function whichOnPath(name: string, pathEnv: string | undefined, exists: (p: string) => boolean): string | undefined {
  for (const dir of (pathEnv ?? "").split(process.platform === "win32" ? ";" : ":")) {
    if (!dir) continue;
    for (const ext of process.platform === "win32" ? [".exe", ".cmd", ""] : [""]) {
      const candidate = `${dir}/${name}${ext}`;
      if (exists(candidate)) return candidate;
    }
  }
  return undefined;
}
