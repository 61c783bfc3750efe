// The luaposix modules the Linux gateway uses (Debian lua-posix 33.x,
// OpenWrt luaposix), declared for TypeScript. luaposix returns `nil, message,
// errno` on failure; TypeScript sees the first value only, so a failed call
// reads as undefined/null and the message comes from errno.errno().

/// <reference types="@typescript-to-lua/language-extensions" />

import { luaRequire } from "../lua/lua.js";

export interface Termios {
  iflag: number;
  oflag: number;
  cflag: number;
  lflag: number;
  ispeed: number;
  ospeed: number;
  cc: { [index: number]: number };
}

export interface PosixFcntl {
  open(this: void, path: string, flags: number, mode?: number): number | undefined;
  fcntl(this: void, fd: number, cmd: number, arg?: number): number | undefined;
  O_RDWR: number;
  O_NOCTTY: number;
  O_NONBLOCK: number;
  F_GETFL: number;
  F_SETFL: number;
}

export interface PosixUnistd {
  read(this: void, fd: number, count: number): string | undefined;
  write(this: void, fd: number, buf: string): number | undefined;
  close(this: void, fd: number): number | undefined;
  isatty(this: void, fd: number): number | undefined;
  getpid(this: void): number;
  alarm(this: void, seconds: number): number;
}

export interface PosixTermio {
  tcgetattr(this: void, fd: number): Termios | undefined;
  tcsetattr(this: void, fd: number, actions: number, t: Termios): number | undefined;
  tcflush(this: void, fd: number, queue: number): number | undefined;
  TCSANOW: number;
  TCIOFLUSH: number;
  CS8: number;
  CREAD: number;
  CLOCAL: number;
  VMIN: number;
  VTIME: number;
  [baud: string]: unknown;
}

export interface PollRevents {
  IN?: boolean;
  OUT?: boolean;
  HUP?: boolean;
  ERR?: boolean;
  NVAL?: boolean;
}

export interface PollEntry {
  events: { IN?: boolean; OUT?: boolean };
  revents?: PollRevents;
}

export interface PosixPoll {
  poll(this: void, fds: { [fd: number]: PollEntry }, timeoutMs: number): number | undefined;
}

export interface SockAddr {
  family: number;
  addr?: string;
  port?: number;
}

export interface PosixSocket {
  socket(this: void, domain: number, type: number, protocol: number): number | undefined;
  setsockopt(this: void, fd: number, level: number, name: number, value: number): number | undefined;
  bind(this: void, fd: number, addr: SockAddr): number | undefined;
  listen(this: void, fd: number, backlog: number): number | undefined;
  accept(this: void, fd: number): LuaMultiReturn<[number | undefined, SockAddr | undefined]>;
  getsockname(this: void, fd: number): SockAddr | undefined;
  getaddrinfo(this: void, host: string, service: string, hints: { family?: number; socktype?: number }): SockAddr[] | undefined;
  recv(this: void, fd: number, count: number): string | undefined;
  send(this: void, fd: number, buf: string): number | undefined;
  AF_INET: number;
  AF_INET6: number;
  SOCK_STREAM: number;
  SOL_SOCKET: number;
  SO_REUSEADDR: number;
  IPPROTO_TCP: number;
  TCP_NODELAY: number;
}

export interface PosixTime {
  clock_gettime(this: void, clock: number): { tv_sec: number; tv_nsec: number };
  CLOCK_MONOTONIC: number;
  CLOCK_REALTIME: number;
}

export interface PosixErrno {
  /** The last error: its message and number. */
  errno(this: void): LuaMultiReturn<[string, number]>;
  EAGAIN: number;
  EINTR: number;
  EWOULDBLOCK?: number;
}

/** The last error of a luaposix call, or "" when it was EAGAIN/EINTR (try again later). */
export function lastError(px: Posix): string {
  const [message, code] = px.errno.errno();
  if (code === px.errno.EAGAIN || code === px.errno.EINTR || code === px.errno.EWOULDBLOCK) return "";
  return message;
}

export interface PosixSignal {
  signal(this: void, sig: number, handler: unknown): unknown;
  kill(this: void, pid: number, sig: number): number | undefined;
  SIGPIPE: number;
  SIGALRM: number;
  SIGTERM: number;
  SIGINT: number;
  SIGUSR1: number;
  SIGKILL: number;
  SIG_IGN: unknown;
  SIG_DFL: unknown;
}

export interface PosixStdlib {
  getenv(this: void, name: string): string | undefined;
}

export interface Posix {
  fcntl: PosixFcntl;
  unistd: PosixUnistd;
  termio: PosixTermio;
  poll: PosixPoll;
  socket: PosixSocket;
  time: PosixTime;
  errno: PosixErrno;
  signal: PosixSignal;
}

/** Loads luaposix; throws (a Lua error) with a clear message when it is missing. */
export function loadPosix(): Posix {
  return {
    fcntl: luaRequire("posix.fcntl") as PosixFcntl,
    unistd: luaRequire("posix.unistd") as PosixUnistd,
    termio: luaRequire("posix.termio") as PosixTermio,
    poll: luaRequire("posix.poll") as PosixPoll,
    socket: luaRequire("posix.sys.socket") as PosixSocket,
    time: luaRequire("posix.time") as PosixTime,
    errno: luaRequire("posix.errno") as PosixErrno,
    signal: luaRequire("posix.signal") as PosixSignal,
  };
}
