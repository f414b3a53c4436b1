// How the extension finds the server: pure, so it is unit-tested without VS Code.

export interface ServerCommand {
  command: string;
  args: string[];
  /** Where the command came from, shown in the output channel. */
  source:
    | "setting: escapeLsp.server.command"
    | "bundled server"
    | "setting: escapeLsp.server.pythonPath"
    | "Python extension"
    | "PATH";
}

/** The server bundled into the extension (bundled/libs, made by `npm run package`). */
export interface Bundle {
  /** bundled/tool/serve.py: puts bundled/libs first on sys.path, then runs the CLI. */
  launcher: string;
  /** CPython versions whose extension modules are bundled, e.g. ["3.11", "3.12"]. */
  pythons: string[];
}

export interface ResolveInputs {
  configuredCommand: string[];
  configuredPython: string;
  /** The Python extension's active interpreter, when that extension is installed. */
  activeInterpreter?: string;
  bundle?: Bundle;
  /** `which`: the absolute path of an executable on PATH, if any. */
  which: (name: string) => string | undefined;
  /** "cpython 3.12" for an interpreter that runs, else undefined. */
  pythonVersion: (python: string) => string | undefined;
  /** Whether `python -c "import escape_lsp"` works with that interpreter. */
  canImport: (python: string) => boolean;
}

/** Interpreters tried on PATH for the bundled server, in order. */
export const PATH_PYTHONS = ["python3", "python", "python3.14", "python3.13", "python3.12", "python3.11"];

/** Arguments that run the bundled server: isolated, no site-packages, only bundled/libs. */
export function bundledArgs(bundle: Bundle): string[] {
  return ["-I", "-S", bundle.launcher, "serve"];
}

export const NO_BUNDLE_HINT =
  "escape-lsp: this build of the extension has no bundled server (build it with `npm run package` " +
  "in editors/vscode). Or set escapeLsp.server.command to a server you installed, e.g. after " +
  "`python3 -m venv .venv && .venv/bin/pip install -e . --config-settings editable_mode=compat` " +
  "in an escape-lsp checkout: " +
  '["/path/to/escape-lsp/.venv/bin/escape-lsp", "serve"].';

export function noPythonHint(bundle: Bundle, tried: string[]): string {
  const versions = bundle.pythons.join(", ");
  return (
    `escape-lsp needs CPython ${versions} to run its bundled server; ` +
    (tried.length ? `found only: ${tried.join("; ")}. ` : "found no Python. ") +
    "Install one (python.org, or your system's package manager), then run " +
    "'Escape LSP: Restart Server'; or set escapeLsp.server.pythonPath to one."
  );
}

function bundledServer(inputs: ResolveInputs, bundle: Bundle): ServerCommand | { error: string } {
  const candidates: [string, ServerCommand["source"]][] = inputs.configuredPython
    ? [[inputs.configuredPython, "setting: escapeLsp.server.pythonPath"]]
    : [
        ...(inputs.activeInterpreter ? [[inputs.activeInterpreter, "bundled server"] as [string, ServerCommand["source"]]] : []),
        ...PATH_PYTHONS.map((n) => inputs.which(n))
          .filter((p): p is string => p !== undefined)
          .map((p) => [p, "bundled server"] as [string, ServerCommand["source"]]),
      ];
  const tried: string[] = [];
  const seen = new Set<string>();
  for (const [python, source] of candidates) {
    if (seen.has(python)) continue;
    seen.add(python);
    const version = inputs.pythonVersion(python);
    const [impl, number] = (version ?? "").split(" ");
    if (impl === "cpython" && bundle.pythons.includes(number)) {
      return { command: python, args: bundledArgs(bundle), source };
    }
    tried.push(`${python} (${version ?? "does not run"})`);
  }
  return { error: noPythonHint(bundle, tried) };
}

export function resolveServer(inputs: ResolveInputs): ServerCommand | { error: string } {
  const [command, ...args] = inputs.configuredCommand;
  if (command) {
    return { command, args, source: "setting: escapeLsp.server.command" };
  }
  if (inputs.bundle) {
    return bundledServer(inputs, inputs.bundle);
  }
  // A development build without bundled/libs: a server installed by hand.
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
  return { error: NO_BUNDLE_HINT };
}

/** The interpreter's implementation and version, from `python -c PYTHON_VERSION_PROBE`. */
export const PYTHON_VERSION_PROBE = "import sys; print(sys.implementation.name, '%d.%d' % sys.version_info[:2])";

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
