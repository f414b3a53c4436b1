// Pure logic of the extension: server resolution, settings mapping, status text.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { resolveServer, INSTALL_HINT } = require("../out/resolve.js");
const { SERVER_SETTINGS, serverSettings, statusText } = require("../out/settings.js");

const none = { configuredCommand: [], configuredPython: "", which: () => undefined, canImport: () => false };

test("a configured command wins", () => {
  const got = resolveServer({ ...none, configuredCommand: ["/opt/escape-lsp", "serve"], configuredPython: "/usr/bin/python3" });
  assert.deepEqual(got, { command: "/opt/escape-lsp", args: ["serve"], source: "setting: escapeLsp.server.command" });
});

test("then a configured interpreter, run as a module", () => {
  const got = resolveServer({ ...none, configuredPython: "/venv/bin/python", activeInterpreter: "/other/python", canImport: () => true });
  assert.deepEqual(got, { command: "/venv/bin/python", args: ["-m", "escape_lsp", "serve"], source: "setting: escapeLsp.server.pythonPath" });
});

test("then the Python extension's interpreter, only if it has escape_lsp", () => {
  const seen = [];
  const inputs = { ...none, activeInterpreter: "/env/bin/python", canImport: (p) => (seen.push(p), true) };
  assert.equal(resolveServer(inputs).source, "Python extension");
  assert.deepEqual(seen, ["/env/bin/python"]);
  const without = { ...none, activeInterpreter: "/env/bin/python", which: (n) => (n === "escape-lsp" ? "/usr/local/bin/escape-lsp" : undefined) };
  assert.deepEqual(resolveServer(without), { command: "/usr/local/bin/escape-lsp", args: ["serve"], source: "PATH" });
});

test("nothing found: a clear error with install instructions", () => {
  assert.deepEqual(resolveServer(none), { error: INSTALL_HINT });
  assert.match(INSTALL_HINT, /pip install/);
});

test("contributes.configuration maps one-to-one onto the server's settings", () => {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url)));
  const keys = Object.keys(pkg.contributes.configuration.properties)
    .filter((k) => !k.startsWith("escapeLsp.server."))
    .map((k) => k.replace(/^escapeLsp\./, ""));
  assert.deepEqual(keys, [...SERVER_SETTINGS]);
  const defaults = Object.fromEntries(Object.entries(pkg.contributes.configuration.properties).map(([k, v]) => [k.replace(/^escapeLsp\./, ""), v.default]));
  const sent = serverSettings((k) => defaults[k]);
  assert.deepEqual(sent.kinds, ["heap", "leaks", "pool"]);
  assert.equal(sent.go, undefined, "an empty go path is not sent, so the server uses PATH");
  assert.equal(sent.debounceMs, 300);
});

test("status bar text", () => {
  assert.equal(statusText({ state: "idle", heapFindings: 1, blockedFiles: 0 }), "$(flame) 1 heap escape");
  assert.equal(statusText({ state: "idle", heapFindings: 3, blockedFiles: 0 }), "$(flame) 3 heap escapes");
  assert.equal(statusText({ state: "idle", heapFindings: 3, blockedFiles: 2 }), "$(warning) escape: blocked (2)");
  assert.equal(statusText({ state: "analysing" }), "$(sync~spin) escape: analysing");
});
