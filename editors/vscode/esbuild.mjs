// Bundles the extension (vscode stays external) and the pure modules the Node tests import.
import { build } from "esbuild";

await build({
  entryPoints: ["src/extension.ts", "src/resolve.ts", "src/settings.ts"],
  outdir: "out",
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node18",
  external: ["vscode"],
  sourcemap: true,
  logLevel: "warning",
});
