// Log records of the Linux gateway: one JSON object a line on stdout, in the
// simulator's pino shape ({"level":30,"time":"<ISO>","pid":N,"event":...,
// ...fields,"msg":...}), pino's level numbers (debug 20, info 30, warn 40,
// error 50) and the simulator's event names, so tests and operators read
// both builds alike.

import { LOG_ERROR, LOG_INFO, LOG_WARN } from "../../core/hal.js";
import { jsonString, toJson } from "../lua/json.js";
import { luaIo, luaOs, luaString } from "../lua/lua.js";
import { Posix } from "./posix.js";

export const PINO_DEBUG = 20;
export const PINO_INFO = 30;
export const PINO_WARN = 40;
export const PINO_ERROR = 50;

/** The pino level of a Hal LOG_* level. */
export function pinoLevel(level: number): number {
  if (level >= LOG_ERROR) return PINO_ERROR;
  if (level >= LOG_WARN) return PINO_WARN;
  if (level >= LOG_INFO) return PINO_INFO;
  return PINO_DEBUG;
}

/** --log-level names. */
export function levelByName(name: string): number {
  if (name === "debug") return PINO_DEBUG;
  if (name === "info") return PINO_INFO;
  if (name === "warn") return PINO_WARN;
  if (name === "error") return PINO_ERROR;
  return -1;
}

export interface LogFields {
  [k: string]: unknown;
}

export class Logger {
  minLevel = PINO_INFO;
  pid: number;

  constructor(readonly px: Posix) {
    this.pid = px.unistd.getpid();
    luaIo.stdout.setvbuf("line");
  }

  private isoTime(): string {
    const t = this.px.time.clock_gettime(this.px.time.CLOCK_REALTIME);
    const ms = Math.floor(t.tv_nsec / 1000000);
    return luaOs.date("!%Y-%m-%dT%H:%M:%S", t.tv_sec) + luaString.format(".%03dZ", ms);
  }

  /** The JSON line of one record (without writing it). */
  format(level: number, event: string, fields: LogFields | null, msg: string): string {
    const parts: string[] = [
      '{"level":' + luaString.format("%d", level),
      '"time":' + jsonString(this.isoTime()),
      '"pid":' + luaString.format("%d", this.pid),
      '"event":' + jsonString(event),
    ];
    if (fields !== null) {
      const keys = Object.keys(fields);
      keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      for (const k of keys) {
        if (k !== "event" && k !== "msg" && k !== "level" && k !== "time" && k !== "pid") parts.push(jsonString(k) + ":" + toJson(fields[k]));
      }
    }
    parts.push('"msg":' + jsonString(msg) + "}");
    return parts.join(",");
  }

  write(level: number, event: string, fields: LogFields | null, msg: string): void {
    if (level < this.minLevel) return;
    luaIo.stdout.write(this.format(level, event, fields, msg) + "\n");
  }

  debug(event: string, fields: LogFields | null, msg: string): void {
    this.write(PINO_DEBUG, event, fields, msg);
  }
  info(event: string, fields: LogFields | null, msg: string): void {
    this.write(PINO_INFO, event, fields, msg);
  }
  warn(event: string, fields: LogFields | null, msg: string): void {
    this.write(PINO_WARN, event, fields, msg);
  }
  error(event: string, fields: LogFields | null, msg: string): void {
    this.write(PINO_ERROR, event, fields, msg);
  }
}
