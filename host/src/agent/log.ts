// Structured logs (pino). Every record carries a stable `event` name; the
// levels are pino's plus `crit` for what Heartbeat logs as CRIT.

import { pino, type Logger, type DestinationStream } from "pino";
import type { Effect, Level } from "../membership/effects.js";

export type AgentLogger = Logger<"crit">;

export function createLogger(node: string, level: string, destination?: DestinationStream): AgentLogger {
  return pino(
    {
      name: "lubdubd",
      level,
      customLevels: { crit: 55 },
      base: { node, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination ?? pino.destination(1),
  );
}

export function logEvent(log: AgentLogger, level: Level, event: string, msg: string, fields: Record<string, unknown> = {}): void {
  log[level]({ event, ...fields }, msg);
}

export function logEffect(log: AgentLogger, e: Extract<Effect, { kind: "event" }>): void {
  logEvent(log, e.level, e.event, e.msg, e.fields);
}
