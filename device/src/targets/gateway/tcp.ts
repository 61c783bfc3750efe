// The console on TCP for the Linux gateway (--console-tcp HOST:PORT): a
// non-blocking listener and its sessions, served from the poll loop, several
// at once, input handed on as it arrives (a client may pipeline a whole
// dialogue in one write). Session numbers start at 1 (0 is the serial
// console) and are never reused while the process runs.

import { lastError, Posix, SockAddr } from "./posix.js";

export const SESSION_BACKLOG_LIMIT = 64 * 1024;
/** How long a session the device closed may take to drain its output. */
export const CLOSE_DRAIN_MS = 2000;
const RECV_CHUNK = 4096;

export interface TcpSession {
  id: number;
  fd: number;
  peer: string;
  pending: string;
  /** The device asked to close: drain, then close. */
  closing: boolean;
  closeBy: number;
}

export interface TcpEvents {
  opened: (this: void, s: TcpSession) => void;
  data: (this: void, s: TcpSession, bytes: string) => void;
  closed: (this: void, s: TcpSession) => void;
  refused: (this: void, peer: string, open: number) => void;
  problem: (this: void, message: string) => void;
}

function setNonBlocking(px: Posix, fd: number): void {
  const flags = px.fcntl.fcntl(fd, px.fcntl.F_GETFL);
  if (flags !== undefined && flags !== null) {
    // O_NONBLOCK is one bit; add it only when it is not set yet
    if (Math.floor(flags / px.fcntl.O_NONBLOCK) % 2 === 0) px.fcntl.fcntl(fd, px.fcntl.F_SETFL, flags + px.fcntl.O_NONBLOCK);
  }
}

export class TcpConsole {
  fd = -1;
  host = "";
  port = 0;
  readonly sessions: TcpSession[] = [];
  private nextId = 1;

  constructor(
    readonly px: Posix,
    readonly maxSessions: number,
    readonly on: TcpEvents,
    readonly now: (this: void) => number,
  ) {}

  /** Binds and listens; "" or why not. */
  listen(host: string, port: number): string {
    const sock = this.px.socket;
    const addrs = sock.getaddrinfo(host, "" + port, { socktype: sock.SOCK_STREAM });
    if (addrs === undefined || addrs === null || addrs.length === 0) return "cannot resolve " + host + ": " + lastError(this.px);
    const addr = addrs[0]!;
    const fd = sock.socket(addr.family, sock.SOCK_STREAM, 0);
    if (fd === undefined || fd === null) return "socket: " + lastError(this.px);
    sock.setsockopt(fd, sock.SOL_SOCKET, sock.SO_REUSEADDR, 1);
    if (sock.bind(fd, { family: addr.family, addr: addr.addr, port: port }) === undefined) {
      const why = lastError(this.px);
      this.px.unistd.close(fd);
      return "cannot listen on " + host + ":" + port + ": " + why;
    }
    if (sock.listen(fd, 16) === undefined) {
      const why = lastError(this.px);
      this.px.unistd.close(fd);
      return "listen: " + why;
    }
    setNonBlocking(this.px, fd);
    const bound = sock.getsockname(fd);
    this.fd = fd;
    this.host = host;
    this.port = bound !== undefined && bound !== null && bound.port !== undefined ? bound.port : port;
    return "";
  }

  find(id: number): TcpSession | null {
    for (const s of this.sessions) if (s.id === id) return s;
    return null;
  }

  /** The listener is readable: accepts every waiting client. */
  acceptAll(): void {
    for (let i = 0; i < 16; i++) {
      const [fd, peer] = this.px.socket.accept(this.fd);
      if (fd === undefined || fd === null) {
        const why = lastError(this.px);
        if (why !== "") this.on.problem("accept: " + why);
        return;
      }
      this.accepted(fd, peer);
    }
  }

  private accepted(fd: number, peer: SockAddr | undefined): void {
    const sock = this.px.socket;
    setNonBlocking(this.px, fd);
    sock.setsockopt(fd, sock.IPPROTO_TCP, sock.TCP_NODELAY, 1);
    const peerAddr = peer === undefined || peer === null ? "?" : (peer.addr === undefined ? "?" : peer.addr) + ":" + (peer.port === undefined ? "?" : "" + peer.port);
    if (this.sessions.length >= this.maxSessions) {
      this.on.refused(peerAddr, this.sessions.length);
      sock.send(fd, "Too many sessions.\r\n");
      this.px.unistd.close(fd);
      return;
    }
    const s: TcpSession = { id: this.nextId, fd: fd, peer: peerAddr, pending: "", closing: false, closeBy: 0 };
    this.nextId++;
    this.sessions.push(s);
    this.on.opened(s);
  }

  /** The session's socket is readable. */
  readable(s: TcpSession): void {
    const got = this.px.socket.recv(s.fd, RECV_CHUNK);
    if (got === undefined || got === null) {
      const why = lastError(this.px);
      if (why !== "") this.drop(s);
      return;
    }
    if (got.length === 0) {
      this.drop(s);
      return;
    }
    if (!s.closing) this.on.data(s, got);
  }

  write(s: TcpSession, text: string): void {
    if (s.fd < 0) return;
    if (s.pending.length + text.length > SESSION_BACKLOG_LIMIT) {
      this.on.problem("console session " + s.id + ": output backlog full; closing");
      this.drop(s);
      return;
    }
    s.pending += text;
    this.flush(s);
  }

  flush(s: TcpSession): void {
    while (s.fd >= 0 && s.pending.length > 0) {
      const n = this.px.socket.send(s.fd, s.pending);
      if (n === undefined || n === null) {
        const why = lastError(this.px);
        if (why !== "") this.drop(s);
        return;
      }
      if (n <= 0) return;
      s.pending = n >= s.pending.length ? "" : s.pending.substring(n);
    }
    if (s.fd >= 0 && s.closing && s.pending.length === 0) this.drop(s);
  }

  /** The device ends a session: its output drains first (at most CLOSE_DRAIN_MS). */
  close(s: TcpSession): void {
    if (s.closing) return;
    s.closing = true;
    s.closeBy = this.now() + CLOSE_DRAIN_MS;
    this.flush(s);
  }

  /** Closes the socket at once and reports the session closed. */
  drop(s: TcpSession): void {
    if (s.fd < 0) return;
    this.px.unistd.close(s.fd);
    s.fd = -1;
    const i = this.sessions.indexOf(s);
    if (i >= 0) this.sessions.splice(i, 1);
    this.on.closed(s);
  }

  /** Every loop turn: sessions past their drain time are closed. */
  service(): void {
    const t = this.now();
    const late: TcpSession[] = [];
    for (const s of this.sessions) if (s.closing && t >= s.closeBy) late.push(s);
    for (const s of late) this.drop(s);
  }

  closeAll(): void {
    const all = this.sessions.slice();
    for (const s of all) this.drop(s);
    if (this.fd >= 0) this.px.unistd.close(this.fd);
    this.fd = -1;
  }
}
