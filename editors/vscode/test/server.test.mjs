// Starts the server exactly as the extension does (same resolution, argv and environment) and
// speaks LSP to it with vscode-jsonrpc: a Go file's escape diagnostics must arrive.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { test } from "node:test";

const require = createRequire(import.meta.url);
const rpc = require("vscode-jsonrpc/node");
const { resolveServer, whichOnPath } = require("../out/resolve.js");
const { serverSettings } = require("../out/settings.js");

test("the server publishes escape diagnostics for a Go file", { timeout: 120_000 }, async () => {
  const python = process.env.ESCAPE_LSP_PYTHON;
  assert.ok(python, "set ESCAPE_LSP_PYTHON to the interpreter with escape-lsp installed (.ci/run does)");
  const resolved = resolveServer({
    configuredCommand: [],
    configuredPython: python,
    which: (n) => whichOnPath(n, process.env.PATH, existsSync),
    canImport: () => true,
  });
  assert.equal(resolved.source, "setting: escapeLsp.server.pythonPath");

  const root = mkdtempSync(join(tmpdir(), "escape-vscode-"));
  mkdirSync(join(root, "p"));
  writeFileSync(join(root, "go.mod"), "module example.com/m\n\ngo 1.24\n");
  const file = join(root, "p", "p.go");
  writeFileSync(file, "package p\n\nfunc F() *int {\n\tx := 1\n\treturn &x\n}\n");
  const uri = pathToFileURL(file).href;

  const child = spawn(resolved.command, resolved.args, { env: process.env, stdio: ["pipe", "pipe", "inherit"] });
  const conn = rpc.createMessageConnection(new rpc.StreamMessageReader(child.stdout), new rpc.StreamMessageWriter(child.stdin));
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url)));
  const defaults = Object.fromEntries(Object.entries(pkg.contributes.configuration.properties).map(([k, v]) => [k.replace(/^escapeLsp\./, ""), v.default]));
  const settings = serverSettings((k) => defaults[k]);
  const published = new Promise((resolve) => {
    conn.onNotification("textDocument/publishDiagnostics", (params) => {
      if (params.uri === uri && params.diagnostics.some((d) => d.message === "moved to heap: x")) resolve(params);
    });
  });
  conn.onRequest("workspace/configuration", (params) => params.items.map(() => settings));
  conn.onRequest("client/registerCapability", () => null);
  conn.listen();
  try {
    const init = await conn.sendRequest("initialize", {
      processId: process.pid,
      rootUri: pathToFileURL(root).href,
      capabilities: { workspace: { configuration: true } },
      initializationOptions: { escapeLsp: settings },
    });
    assert.ok(init.capabilities.codeActionProvider, "quick fixes are advertised");
    await conn.sendNotification("initialized", {});
    await conn.sendNotification("textDocument/didOpen", {
      textDocument: { uri, languageId: "go", version: 1, text: readFileSync(file, "utf8") },
    });
    const params = await published;
    const diag = params.diagnostics.find((d) => d.message === "moved to heap: x");
    assert.deepEqual(diag.range, { start: { line: 3, character: 1 }, end: { line: 3, character: 2 } });
    assert.equal(diag.source, "escape-lsp");
    await conn.sendRequest("shutdown");
    await conn.sendNotification("exit");
  } finally {
    conn.dispose();
    child.kill();
    rmSync(root, { recursive: true, force: true });
  }
});
