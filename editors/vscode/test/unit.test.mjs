// Pure logic of the extension: server resolution, settings mapping, status text.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { resolveServer, NO_BUNDLE_HINT } = require("../out/resolve.js");
const { RESTRICTED_SETTINGS, SERVER_SETTINGS, serverSettings, statusText, stillWorking } = require("../out/settings.js");

const none = { configuredCommand: [], configuredPython: "", which: () => undefined, pythonVersion: () => undefined, canImport: () => false };
const bundle = { launcher: "/ext/bundled/tool/serve.py", pythons: ["3.11", "3.12", "3.13"] };
const bundled = ["-I", "-S", "/ext/bundled/tool/serve.py", "serve"];

test("a configured command wins", () => {
  const got = resolveServer({ ...none, configuredCommand: ["/opt/escape-lsp", "serve"], configuredPython: "/usr/bin/python3" });
  assert.deepEqual(got, { command: "/opt/escape-lsp", args: ["serve"], source: "setting: escapeLsp.server.command" });
});

test("a configured command wins over the bundled server", () => {
  const got = resolveServer({ ...none, bundle, configuredCommand: ["/venv/bin/escape-lsp", "serve"], pythonVersion: () => "cpython 3.12" });
  assert.equal(got.source, "setting: escapeLsp.server.command");
});

test("the bundled server runs on the first supported CPython: setting, Python extension, PATH", () => {
  const versions = { "/usr/bin/python3": "cpython 3.10", "/opt/py313/python": "cpython 3.13", "/usr/bin/python3.12": "cpython 3.12", "/pypy/python": "pypy 3.11" };
  const which = (n) => ({ python3: "/usr/bin/python3", "python3.12": "/usr/bin/python3.12" })[n];
  const inputs = { ...none, bundle, which, pythonVersion: (p) => versions[p] };
  assert.deepEqual(resolveServer(inputs), { command: "/usr/bin/python3.12", args: bundled, source: "bundled server" });
  assert.deepEqual(resolveServer({ ...inputs, activeInterpreter: "/opt/py313/python" }), { command: "/opt/py313/python", args: bundled, source: "bundled server" });
  assert.deepEqual(resolveServer({ ...inputs, activeInterpreter: "/pypy/python" }).command, "/usr/bin/python3.12");
  assert.deepEqual(resolveServer({ ...inputs, configuredPython: "/opt/py313/python" }), { command: "/opt/py313/python", args: bundled, source: "setting: escapeLsp.server.pythonPath" });
});

test("no supported Python for the bundle: the error says what was found and what to do", () => {
  const got = resolveServer({ ...none, bundle, which: (n) => (n === "python3" ? "/usr/bin/python3" : undefined), pythonVersion: () => "cpython 3.10" });
  assert.match(got.error, /needs CPython 3\.11, 3\.12, 3\.13/);
  assert.match(got.error, /found only: \/usr\/bin\/python3 \(cpython 3\.10\)/);
  assert.match(got.error, /escapeLsp\.server\.pythonPath/);
  const configured = resolveServer({ ...none, bundle, configuredPython: "/nope", which: () => "/usr/bin/python3", pythonVersion: () => undefined });
  assert.match(configured.error, /\/nope \(does not run\)/, "a configured interpreter is not silently replaced");
});

test("without a bundle: then a configured interpreter, run as a module", () => {
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

test("nothing found without a bundle: a clear error with a command that works", () => {
  assert.deepEqual(resolveServer(none), { error: NO_BUNDLE_HINT });
  assert.match(NO_BUNDLE_HINT, /npm run package/);
  assert.match(NO_BUNDLE_HINT, /python3 -m venv \.venv && \.venv\/bin\/pip install -e \./);
  assert.doesNotMatch(NO_BUNDLE_HINT, /pip install escape[-]lsp/, "not on PyPI");
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

test("settings that choose what runs are machine-scoped and restricted in untrusted workspaces", () => {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url)));
  const props = pkg.contributes.configuration.properties;
  const untrusted = pkg.capabilities.untrustedWorkspaces;
  assert.equal(untrusted.supported, "limited");
  assert.deepEqual(untrusted.restrictedConfigurations, RESTRICTED_SETTINGS.map((k) => `escapeLsp.${k}`));
  for (const key of RESTRICTED_SETTINGS) {
    assert.match(props[`escapeLsp.${key}`].scope ?? "", /^machine(-overridable)?$/, key);
  }
  const others = Object.keys(props).filter((k) => !untrusted.restrictedConfigurations.includes(k));
  assert.ok(others.every((k) => !props[k].scope?.startsWith("machine")), "only those are machine-scoped");
});

test("status bar text", () => {
  assert.equal(statusText({ state: "idle", heapFindings: 1, blockedFiles: 0 }), "$(flame) 1 heap escape");
  assert.equal(statusText({ state: "idle", heapFindings: 3, blockedFiles: 0 }), "$(flame) 3 heap escapes");
  assert.equal(statusText({ state: "idle", heapFindings: 3, blockedFiles: 2 }), "$(warning) escape: blocked (2)");
  assert.equal(statusText({ state: "analysing" }), "$(sync~spin) escape: analysing");
  // While the server finds go (or after the first diagnostics, before the server has): no error.
  assert.equal(statusText({ state: "unavailable", reason: "starting" }), "$(sync~spin) escape: starting");
  assert.equal(statusText({ state: "unavailable", reason: "go not found" }), "$(error) escape: unavailable");
});

test("the status is asked again while the server starts or analyses", () => {
  assert.ok(stillWorking({ state: "analysing" }));
  assert.ok(stillWorking({ state: "unavailable", reason: "starting" }));
  assert.ok(!stillWorking({ state: "unavailable", reason: "go not found" }));
  assert.ok(!stillWorking({ state: "idle", heapFindings: 0, blockedFiles: 0 }));
});
