// VS Code settings (escapeLsp.*) to the server's `escapeLsp` section: one-to-one, same names.

/** Server settings, in the order of package.json's contributes.configuration. */
export const SERVER_SETTINGS = [
  "go",
  "kinds",
  "severity",
  "inlayHints",
  "codeLens",
  "debounceMs",
  "includeTests",
  "buildFlags",
  "buildTags",
  "gcflags",
  "env",
  "exclude",
  "scope",
  "severityByWeight",
  "profile",
  "benchFlags",
] as const;

/**
 * Settings that choose or change the programs that run (the server, go, flags such as
 * -toolexec, GOFLAGS in env): never taken from an untrusted workspace (package.json declares
 * them machine-scoped and restricted).
 */
export const RESTRICTED_SETTINGS = [
  "server.command",
  "server.pythonPath",
  "go",
  "buildFlags",
  "gcflags",
  "env",
  "benchFlags",
] as const;

export type Getter = (key: string) => unknown;

/** The object sent as initializationOptions and as the `escapeLsp` configuration section. */
export function serverSettings(get: Getter): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of SERVER_SETTINGS) {
    const value = get(key);
    if (value === undefined || value === null || value === "") continue;
    out[key] = value;
  }
  return out;
}

export const KIND_CHOICES = [
  "heap",
  "leaks",
  "inlining",
  "captures",
  "does-not-escape",
  "bounds",
  "nil",
  "moved-to-heap",
  "escapes-to-heap",
  "leaking-param",
  "leaking-param-content",
  "devirtualized",
  "all",
];

export interface Status {
  state: "idle" | "analysing" | "unavailable";
  heapFindings?: number;
  blockedFiles?: number;
  reason?: string;
}

/** The reason the server gives while it is still finding go (not an error: it comes next). */
export const STARTING = "starting";

/** Whether the server is still at work (starting or analysing): the status is asked again. */
export function stillWorking(status: Status): boolean {
  return status.state === "analysing" || (status.state === "unavailable" && status.reason === STARTING);
}

/** The status bar text for the server's `escapeLsp.status` answer. */
export function statusText(status: Status): string {
  if (status.state === "unavailable") {
    return status.reason === STARTING ? "$(sync~spin) escape: starting" : "$(error) escape: unavailable";
  }
  if (status.state === "analysing") return "$(sync~spin) escape: analysing";
  if (status.blockedFiles) return `$(warning) escape: blocked (${status.blockedFiles})`;
  const n = status.heapFindings ?? 0;
  return `$(flame) ${n} heap escape${n === 1 ? "" : "s"}`;
}
