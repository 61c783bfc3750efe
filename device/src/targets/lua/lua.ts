// The parts of the Lua 5.1 runtime the Lua targets (Linux gateway, NodeMCU)
// call directly, declared for TypeScript and handed on as plain values so
// other modules import them instead of re-declaring globals. Every function
// is `this: void`, so typescript-to-lua calls it with a dot.
//
// This file, and everything under targets/lua, targets/gateway and
// targets/nodemcu, only runs under Lua 5.1 (built by device/tsconfig.gateway.json
// and device/tsconfig.nodemcu.json); the Node build type-checks it only.

export interface LuaStringLib {
  byte(this: void, s: string, i: number, j?: number): number;
  char(this: void, ...codes: number[]): string;
  rep(this: void, s: string, n: number): string;
  format(this: void, fmt: string, ...args: unknown[]): string;
  sub(this: void, s: string, i: number, j?: number): string;
  len(this: void, s: string): number;
  find(this: void, s: string, pattern: string, init?: number, plain?: boolean): number | undefined;
}

export interface LuaFile {
  read(this: LuaFile, what: string): string | undefined;
  write(this: LuaFile, s: string): LuaFile | undefined;
  flush(this: LuaFile): void;
  setvbuf(this: LuaFile, mode: string): void;
  close(this: LuaFile): void;
}

export interface LuaIoLib {
  open(this: void, path: string, mode: string): LuaFile | undefined;
  write(this: void, ...s: string[]): void;
  stdout: LuaFile;
  stderr: LuaFile;
}

export interface LuaOsLib {
  rename(this: void, from: string, to: string): boolean | undefined;
  remove(this: void, path: string): boolean | undefined;
  time(this: void): number;
  exit(this: void, code: number): void;
  execute(this: void, cmd: string): number;
  getenv(this: void, name: string): string | undefined;
  date(this: void, format: string, time?: number): string;
}

/** LuaBitOp (Debian lua-bitop, OpenWrt, NodeMCU's built-in `bit`): 32-bit results, signed. */
export interface LuaBitLib {
  band(this: void, a: number, b: number, ...more: number[]): number;
  bor(this: void, a: number, b: number, ...more: number[]): number;
  bxor(this: void, a: number, b: number, ...more: number[]): number;
  bnot(this: void, a: number): number;
  lshift(this: void, a: number, n: number): number;
  rshift(this: void, a: number, n: number): number;
  rol(this: void, a: number, n: number): number;
  tobit(this: void, a: number): number;
  tohex(this: void, a: number, n: number): string;
}

declare const string: LuaStringLib;
declare const io: LuaIoLib;
declare const os: LuaOsLib;
declare function tostring(this: void, v: unknown): string;
declare function collectgarbage(this: void, what: string): number;
declare function print(this: void, ...args: unknown[]): void;
declare function require(this: void, name: string): unknown;
declare function rawget(this: void, t: unknown, k: string): unknown;
declare const _G: unknown;
declare const math: { randomseed(this: void, seed: number): void; random(this: void): number };

export const luaString = string;
export const luaIo = io;
export const luaOs = os;
export const luaToString = tostring;
export const luaPrint = print;

declare function xpcall(this: void, fn: (this: void) => void, handler: (this: void, e: unknown) => unknown): boolean;

/** Runs fn; a Lua error in it is caught and returned as its message (null when fn ran through). */
export function guarded(fn: (this: void) => void): string | null {
  let message: string | null = null;
  const ok = xpcall(fn, (e: unknown) => {
    message = tostring(e);
    return e;
  });
  const m = message as string | null;
  return ok ? null : m === null ? "error" : m;
}

/** Lua's `require`, for the target's C modules (luaposix, bit). */
export function luaRequire(name: string): unknown {
  return require(name);
}

/** A global of the Lua state (NodeMCU's built-in modules are globals), or undefined. */
export function luaGlobal(name: string): unknown {
  return rawget(_G, name);
}

/** Kilobytes of Lua heap in use. */
export function luaMemoryKb(): number {
  return collectgarbage("count");
}

/**
 * Seeds Lua's math.random (what Math.random compiles to), which otherwise
 * gives the same sequence after every start.
 */
export function seedRandom(seed: number): void {
  math.randomseed(seed % 2147483647);
  // the first values after randomseed vary little with the seed on some libcs
  for (let i = 0; i < 5; i++) math.random();
}
