// The VS Code client: starts `escape-lsp serve`, forwards settings, adds commands and a status bar.
import * as cp from "child_process";
import * as fs from "fs";
import * as vscode from "vscode";
import {
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  Location as LspLocation,
  ServerOptions,
} from "vscode-languageclient/node";
import * as path from "path";
import { Bundle, PYTHON_VERSION_PROBE, resolveServer, whichOnPath } from "./resolve";
import { KIND_CHOICES, RESTRICTED_SETTINGS, serverSettings, Status, statusText, stillWorking } from "./settings";

let client: LanguageClient | undefined;
let output: vscode.OutputChannel;
let statusBar: vscode.StatusBarItem;

async function activeInterpreter(): Promise<string | undefined> {
  const python = vscode.extensions.getExtension("ms-python.python");
  if (!python) return undefined;
  try {
    const api = python.isActive ? python.exports : await python.activate();
    const env = await api?.environments?.getActiveEnvironmentPath?.();
    return typeof env?.path === "string" ? env.path : undefined;
  } catch {
    return undefined;
  }
}

function canImport(python: string): boolean {
  return cp.spawnSync(python, ["-c", "import escape_lsp"], { timeout: 10000 }).status === 0;
}

function pythonVersion(python: string): string | undefined {
  const probe = cp.spawnSync(python, ["-I", "-S", "-c", PYTHON_VERSION_PROBE], { timeout: 10000, encoding: "utf8" });
  return probe.status === 0 ? probe.stdout.trim() : undefined;
}

/** The server bundled into a packaged extension; undefined in a development build. */
function bundledServer(extensionPath: string): Bundle | undefined {
  try {
    const manifest = JSON.parse(fs.readFileSync(path.join(extensionPath, "bundled", "libs", "bundle.json"), "utf8"));
    return { launcher: path.join(extensionPath, "bundled", "tool", "serve.py"), pythons: manifest.pythons };
  } catch {
    return undefined;
  }
}

async function start(context: vscode.ExtensionContext): Promise<void> {
  const config = vscode.workspace.getConfiguration("escapeLsp");
  const resolved = resolveServer({
    configuredCommand: config.get<string[]>("server.command") ?? [],
    configuredPython: config.get<string>("server.pythonPath") ?? "",
    activeInterpreter: await activeInterpreter(),
    bundle: bundledServer(context.extensionPath),
    which: (name) => whichOnPath(name, process.env.PATH, (p) => fs.existsSync(p)),
    pythonVersion,
    canImport,
  });
  if ("error" in resolved) {
    output.appendLine(resolved.error);
    const choice = await vscode.window.showErrorMessage(resolved.error, "Open settings", "Show output");
    if (choice === "Open settings") {
      void vscode.commands.executeCommand("workbench.action.openSettings", "escapeLsp.server");
    } else if (choice === "Show output") {
      output.show();
    }
    return;
  }
  output.appendLine(`starting ${resolved.command} ${resolved.args.join(" ")} (from ${resolved.source})`);
  const serverOptions: ServerOptions = { command: resolved.command, args: resolved.args };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: "file", language: "go" }],
    outputChannel: output,
    initializationOptions: { escapeLsp: serverSettings((k) => config.get(k)) },
    synchronize: { configurationSection: "escapeLsp" },
    middleware: {
      workspace: {
        configuration: async (params, token, next) => {
          // Answer `escapeLsp` with the server's settings only (not server.command / pythonPath).
          const others = await next(params, token);
          if (!Array.isArray(others)) return others;
          const settings = serverSettings((k) => vscode.workspace.getConfiguration("escapeLsp").get(k));
          return params.items.map((item, i) => (item.section === "escapeLsp" ? settings : others[i]));
        },
      },
      executeCommand: async (command, args, next) => {
        if (command === "escapeLsp.showFunctionFindings" && client) {
          const [uri, position, locations] = args as [string, { line: number; character: number }, LspLocation[]];
          const converter = client.protocol2CodeConverter;
          await vscode.commands.executeCommand(
            "editor.action.showReferences",
            vscode.Uri.parse(uri),
            converter.asPosition(position),
            locations.map((l) => converter.asLocation(l)),
          );
          return undefined;
        }
        return next(command, args);
      },
    },
  };
  client = new LanguageClient("escapeLsp", "Escape LSP", serverOptions, clientOptions);
  await client.start();
  context.subscriptions.push(vscode.languages.onDidChangeDiagnostics(() => void refreshStatus()));
  void refreshStatus();
}

let statusTimer: NodeJS.Timeout | undefined;

async function refreshStatus(): Promise<void> {
  if (statusTimer) clearTimeout(statusTimer);
  statusTimer = setTimeout(async () => {
    if (!client) return;
    try {
      const status = (await client.sendRequest(ExecuteCommandRequest.type, { command: "escapeLsp.status", arguments: [] })) as Status;
      statusBar.text = statusText(status);
      statusBar.tooltip = status.reason ?? "Go escape analysis (click for output)";
      statusBar.show();
      if (stillWorking(status)) void refreshStatus();
    } catch (err) {
      output.appendLine(`status: ${String(err)}`);
    }
  }, 250);
}

async function runServerCommand(command: string, args: unknown[] = []): Promise<unknown> {
  if (!client) {
    void vscode.window.showWarningMessage("escape-lsp is not running.");
    return undefined;
  }
  return client.sendRequest(ExecuteCommandRequest.type, { command, arguments: args });
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel("Escape LSP");
  statusBar = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 10);
  statusBar.command = "escapeLsp.showOutput";
  context.subscriptions.push(output, statusBar);
  const register = (id: string, fn: () => unknown) => context.subscriptions.push(vscode.commands.registerCommand(id, fn));
  // escapeLsp.rebuild and escapeLsp.analyzeWorkspace are the server's own commands: the
  // language client registers them from the server's executeCommandProvider.
  register("escapeLsp.showKindPicker", async () => {
    const kind = await vscode.window.showQuickPick(KIND_CHOICES, { placeHolder: "Show which kind of finding?" });
    if (kind) await runServerCommand("escapeLsp.showKind", [kind]);
  });
  register("escapeLsp.hideKindPicker", async () => {
    const kind = await vscode.window.showQuickPick(KIND_CHOICES, { placeHolder: "Hide which kind of finding?" });
    if (kind) await runServerCommand("escapeLsp.hideKind", [kind]);
  });
  register("escapeLsp.showOutput", () => output.show());
  const restart = async () => {
    await client?.stop();
    client = undefined;
    await start(context);
  };
  register("escapeLsp.restartServer", restart);
  if (!vscode.workspace.isTrusted) {
    output.appendLine(`Restricted Mode: workspace values of ${RESTRICTED_SETTINGS.map((k) => `escapeLsp.${k}`).join(", ")} are ignored.`);
  }
  context.subscriptions.push(
    vscode.workspace.onDidGrantWorkspaceTrust(() => {
      output.appendLine("Workspace trusted: restarting with its settings.");
      void restart();
    }),
  );
  await start(context);
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}
