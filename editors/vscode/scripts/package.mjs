// Bundles the server for one VS Code target, then packages the platform-specific .vsix:
//   npm run package                      # linux-x64
//   npm run package -- --target darwin-arm64
// The Python that runs pip: $PYTHON, else the checkout's .venv (README set-up), else python3.
import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const i = process.argv.indexOf("--target");
const target = i > 0 ? process.argv[i + 1] : "linux-x64";
const venv = join(root, "..", "..", ".venv", "bin", "python");
const python = process.env.PYTHON ?? (existsSync(venv) ? venv : "python3");
const out = `escape-lsp-${target}.vsix`;

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit", shell: process.platform === "win32" });
  if (result.status !== 0) {
    console.error(`escape-lsp: ${command} ${args.join(" ")} failed`);
    process.exit(result.status ?? 1);
  }
}

run(python, [join("scripts", "bundle_server.py"), "--target", target]);
run(join(root, "node_modules", ".bin", "vsce"), ["package", "--no-dependencies", "--target", target, "--out", out]);
console.log(`${out}: ${(statSync(join(root, out)).size / 1024 / 1024).toFixed(2)} MiB`);
