// One factory per ha.cf media directive, taking the directive's arguments
// exactly as ha.cf writes them (the words after the directive name), plus the
// settings that earlier ha.cf lines gave (udpport, baud). A line can stand for
// several media (`bcast eth0 eth1`, `serial /dev/ttyS0 /dev/ttyS1`), so every
// factory returns a list. Bad arguments throw a MediaConfigError naming the
// line.

import { readFileSync } from "node:fs";
import { BcastMedium } from "./bcast.js";
import { McastMedium } from "./mcast.js";
import type { Medium } from "./medium.js";
import { parseBaud, SerialMedium, type SerialMediumOptions } from "./serial.js";
import { UcastMedium } from "./ucast.js";
import { DEFAULT_UDP_PORT, parsePort, type UdpMediumOptions } from "./udp-socket.js";

export interface MediaSettings extends UdpMediumOptions, Omit<SerialMediumOptions, "baud"> {
  /** ha.cf udpport; default: /etc/services ha-cluster/udp, else 694. */
  udpport?: number;
  /** ha.cf baud, as written or as a number; default 19200. */
  baud?: string | number;
}

export class MediaConfigError extends Error {}

export type MediumFactory = (args: string[], settings?: MediaSettings) => Medium[];

/** The UDP port Heartbeat uses when ha.cf has no udpport: /etc/services' ha-cluster/udp, else 694. */
export function defaultUdpPort(servicesFile = "/etc/services"): number {
  let text: string;
  try {
    text = readFileSync(servicesFile, "utf8");
  } catch {
    return DEFAULT_UDP_PORT;
  }
  for (const line of text.split("\n")) {
    const m = /^ha-cluster\s+(\d+)\/udp\b/.exec(line);
    if (m) return Number(m[1]);
  }
  return DEFAULT_UDP_PORT;
}

function udpOptions(s: MediaSettings): UdpMediumOptions {
  const o: UdpMediumOptions = { udpport: s.udpport ?? defaultUdpPort() };
  if (s.maxDatagramBytes !== undefined) o.maxDatagramBytes = s.maxDatagramBytes;
  return o;
}

function wrap<T>(line: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof MediaConfigError) throw e;
    throw new MediaConfigError(`${line}: ${(e as Error).message}`);
  }
}

function need(line: string, args: string[], min: number, max: number, usage: string): void {
  if (args.length < min || args.length > max) throw new MediaConfigError(`${line}: expected ${usage}`);
}

export const MEDIA_FACTORIES: Readonly<Record<string, MediumFactory>> = {
  ucast(args, s = {}) {
    const line = `ucast ${args.join(" ")}`.trim();
    need(line, args, 2, 2, "ucast IFACE PEER_IP");
    return wrap(line, () => [new UcastMedium(args[0]!, args[1]!, udpOptions(s))]);
  },
  bcast(args, s = {}) {
    const line = `bcast ${args.join(" ")}`.trim();
    need(line, args, 1, Infinity, "bcast IFACE [IFACE...]");
    return wrap(line, () => args.map((iface) => new BcastMedium(iface, udpOptions(s))));
  },
  mcast(args, s = {}) {
    const line = `mcast ${args.join(" ")}`.trim();
    need(line, args, 5, 5, "mcast IFACE GROUP PORT TTL LOOP");
    const [iface, group, port, ttl, loop] = args as [string, string, string, string, string];
    const o = udpOptions(s);
    delete o.udpport;
    return wrap(line, () => [new McastMedium(iface, group, port, ttl, loop, o)]);
  },
  serial(args, s = {}) {
    const line = `serial ${args.join(" ")}`.trim();
    need(line, args, 1, Infinity, "serial DEVICE [DEVICE...]");
    return wrap(line, () => {
      const o: SerialMediumOptions = { baud: parseBaud(s.baud ?? 19200) };
      if (s.rtscts !== undefined) o.rtscts = s.rtscts;
      if (s.maxFrameBytes !== undefined) o.maxFrameBytes = s.maxFrameBytes;
      return args.map((dev) => new SerialMedium(dev, o));
    });
  },
};

export function isMediaDirective(directive: string): boolean {
  return Object.hasOwn(MEDIA_FACTORIES, directive);
}

/** The media one ha.cf line stands for, e.g. createMedia("mcast", ["eth0", "225.0.0.1", "694", "1", "0"]). */
export function createMedia(directive: string, args: string[], settings: MediaSettings = {}): Medium[] {
  const f = isMediaDirective(directive) ? MEDIA_FACTORIES[directive] : undefined;
  if (!f) throw new MediaConfigError(`${directive}: not a heartbeat medium (ucast, bcast, mcast, serial)`);
  return f(args, settings);
}

// The port number parser, for ha.cf readers that check udpport themselves.
export { parsePort };
