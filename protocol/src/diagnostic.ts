// A problem found in an input file, located so an operator can go straight to it.

export type Severity = "error" | "warning";

export interface Diagnostic {
  severity: Severity;
  /** The file (or other named source) the problem is in. */
  source: string;
  /** 1-based line number; 0 when the problem concerns the whole file. */
  line: number;
  message: string;
}

/** `source:line: severity: message`, the form compilers use and editors jump to. */
export function formatDiagnostic(d: Diagnostic): string {
  return `${d.source}${d.line > 0 ? `:${d.line}` : ""}: ${d.severity}: ${d.message}`;
}
