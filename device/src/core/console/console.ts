// The operator console: the BayTech RPC dialogue (placeholder until it lands).
//
// Portable subset: compiled for Espruino and Lua 5.1 too.

import type { ConsoleBackend, ConsoleHandler } from "../console-backend.js";

export function createConsole(backend: ConsoleBackend): ConsoleHandler {
  return {
    open(session: number): void {
      backend.write(session, "lubdub device console\r\n");
    },
    data(session: number, bytes: string): void {},
    closed(session: number): void {},
    tick(): void {},
  };
}
