// The packaged extension on its own: unpack the .vsix, start its *bundled* server exactly as the
// extension does (same resolution and argv: a bare `python3 -I -S` plus bundled/tool/serve.py,
// no venv, no site-packages) and speak LSP to it with vscode-jsonrpc.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, statSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, test } from "node:test";

const require = createRequire(import.meta.url);
const rpc = require("vscode-jsonrpc/node");
const { PATH_PYTHONS, PYTHON_VERSION_PROBE, bundledArgs, resolveServer, whichOnPath } = require("../out/resolve.js");
const { serverSettings } = require("../out/settings.js");

const VSIX = new URL(`../escape-lsp-${process.env.ESCAPE_LSP_TARGET ?? "linux-x64"}.vsix`, import.meta.url).pathname;
const which = (n) => whichOnPath(n, process.env.PATH, existsSync);

function pythonVersion(python) {
  const probe = spawnSync(python, ["-I", "-S", "-c", PYTHON_VERSION_PROBE], { encoding: "utf8", timeout: 20_000 });
  return probe.status === 0 ? probe.stdout.trim() : undefined;
}

let work, extension, bundle, root, file;

before(() => {
  assert.ok(existsSync(VSIX), `${VSIX} is missing: run \`npm run package\` first (.ci/run does)`);
  work = mkdtempSync(join(tmpdir(), "escape-vscode-"));
  const unzip = spawnSync(which("python3") ?? "python3", ["-I", "-m", "zipfile", "-e", VSIX, join(work, "vsix")], { encoding: "utf8" });
  assert.equal(unzip.status, 0, unzip.stderr);
  extension = join(work, "vsix", "extension");
  const manifest = JSON.parse(readFileSync(join(extension, "bundled", "libs", "bundle.json"), "utf8"));
  bundle = { launcher: join(extension, "bundled", "tool", "serve.py"), pythons: manifest.pythons };

  root = join(work, "mod");
  mkdirSync(join(root, "p"), { recursive: true });
  writeFileSync(join(root, "go.mod"), "module example.com/m\n\ngo 1.24\n");
  file = join(root, "p", "p.go");
  writeFileSync(file, "package p\n\nfunc F() *int {\n\tx := 1\n\treturn &x\n}\n");
});

after(() => rmSync(work, { recursive: true, force: true }));

test("the .vsix is small and carries only what runs", () => {
  const size = statSync(VSIX).size;
  assert.ok(size < 3 * 1024 * 1024, `${VSIX} is ${size} bytes`);
  const files = [];
  const walk = (dir) => readdirSync(dir, { withFileTypes: true }).forEach((e) => (e.isDirectory() ? walk(join(dir, e.name)) : files.push(join(dir, e.name))));
  walk(extension);
  const junk = files.filter((f) => /__pycache__|\.pyc$|\.map$|[/\\]RECORD$|[/\\]src[/\\]|[/\\]test[/\\]/.test(f));
  assert.deepEqual(junk, []);
  assert.ok(files.some((f) => f.endsWith(join("escape_lsp", "cli.py"))));
});

test("the bundled server, run by a bare python3, publishes escape diagnostics", { timeout: 120_000 }, async () => {
  const resolved = resolveServer({ configuredCommand: [], configuredPython: "", bundle, which, pythonVersion, canImport: () => false });
  assert.equal(resolved.source, "bundled server", resolved.error);
  assert.deepEqual(resolved.args, ["-I", "-S", bundle.launcher, "serve"]);
  const isolated = spawnSync(resolved.command, ["-I", "-S", "-c", "import pygls"], { encoding: "utf8" });
  assert.notEqual(isolated.status, 0, `${resolved.command} -I -S must not see installed packages`);

  const uri = pathToFileURL(file).href;
  const child = spawn(resolved.command, resolved.args, { env: process.env, stdio: ["pipe", "pipe", "inherit"] });
  const conn = rpc.createMessageConnection(new rpc.StreamMessageReader(child.stdout), new rpc.StreamMessageWriter(child.stdin));
  const pkg = JSON.parse(readFileSync(join(extension, "package.json")));
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
  }
});

/** Every CPython this machine has (PATH, pyenv), by version; the bundle must serve the listed ones. */
function localPythons() {
  const found = new Map();
  const pyenv = join(process.env.PYENV_ROOT ?? join(homedir(), ".pyenv"), "versions");
  const fromPyenv = existsSync(pyenv) ? readdirSync(pyenv).map((v) => join(pyenv, v, "bin", "python3")) : [];
  for (const python of [...PATH_PYTHONS.map(which), ...fromPyenv]) {
    const version = python && existsSync(python) ? pythonVersion(python) : undefined;
    if (version && !found.has(version)) found.set(version, python);
  }
  return found;
}

test("the bundle runs on each CPython 3.11+ found here, and refuses older ones clearly", { timeout: 180_000 }, (t) => {
  const pythons = localPythons();
  t.diagnostic(`tried: ${[...pythons].map(([v, p]) => `${v} (${p})`).join(", ")}`);
  assert.ok(pythons.size > 0, "no python3 found");
  for (const [version, python] of pythons) {
    const run = spawnSync(python, [...bundledArgs(bundle).slice(0, -1), "check", "./..."], { cwd: root, encoding: "utf8", timeout: 60_000 });
    const [impl, number] = version.split(" ");
    if (impl === "cpython" && bundle.pythons.includes(number)) {
      assert.equal(run.status, 0, `${python}: ${run.stderr}`);
      assert.match(run.stdout, /p\/p\.go:4:2: moved-to-heap: moved to heap: x/, python);
    } else {
      assert.equal(run.status, 2, `${python}: ${run.stderr}`);
      assert.match(run.stderr, /the bundled server runs on CPython 3\.11/, python);
    }
  }
});
