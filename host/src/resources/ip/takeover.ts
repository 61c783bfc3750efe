// The IP takeover shared by the IPaddr and IPaddr2 classes: start adds the
// address and announces it with gratuitous ARP, stop removes it, status says
// whether it is there. The two classes differ only in how the address is
// labelled (IPaddr: an `IFACE:N` alias label, as Heartbeat's ifconfig aliases
// were; IPaddr2: a plain secondary address, labelled only when the argument
// says `IFACE:LABEL`) and in their gratuitous ARP defaults (see garp.ts).
//
// Semantics, after the OCF agents behind Heartbeat's resource.d wrappers:
// - start when the address is already on the interface: success, nothing done
//   (IPaddr2 ip_start: `ip_served` ok → exit success, no ARP).
// - start otherwise: `ip -4 addr add IP/PREFIX brd BCAST dev IFACE [label L]`,
//   the interface set up if it was down (IPaddr2's add_interface does), then
//   gratuitous ARP. An ARP that cannot be sent is reported in the output but
//   does not fail the start (the agents log "Could not send gratuitous arps").
//   In a group the next resource need not wait for the first ARP's
//   confirmation (see start below), and the status the group runner reads
//   first and the start after it read the interfaces once (probe).
//   `ip addr add` and `addr del` go through an `ip -batch` started ahead of
//   time (ip-warm.ts) when the class may use one (warmIp), so no process
//   starts for them on the takeover path.
// - stop: the background announcements are cancelled, then the address is
//   deleted wherever it is (any non-loopback interface, or the named one);
//   success when it is on none. A node giving the address away must not keep
//   it anywhere.
// - status: "running" when on the named interface (any non-loopback one when
//   none is named), "stopped" when nowhere, "failed" when only on another
//   interface than the one named (IPaddr's ip_status_internal calls that an
//   error).
// Every `ip` has a deadline within the action's timeout; run() never throws.

import type { Action, ActionContext, ActionResult, Probe, ResourceClass, ResourceSpec } from "../resource-class.js";
import { checkAddress, findPlacement, findPresent, freeAliasLabel, type IfInfo, parseIpArgument, type IpArgument } from "./address.js";
import { announce, cancelAnnouncements, FIRST_ARP_WAIT_MS, type GarpOptions } from "./garp.js";
import { type CommandResult, describeFailure, IP_COMMAND_TIMEOUT_MS, ipArgv, listInterfaces, runCommand } from "./ip-command.js";
import { runIp4, warmIp } from "./ip-warm.js";

export type AddressStyle = "alias" | "secondary";

export interface IpClassOptions extends Partial<GarpOptions> {
  /** Act inside this network namespace (`ip -n`, `ip netns exec`), as OCF IPaddr2's network_namespace; tests use it. */
  netns?: string | null;
  /** How long start waits for the first gratuitous ARP (FIRST_ARP_WAIT_MS). */
  firstArpWaitMs?: number;
  /** Told about background gratuitous ARPs that failed (the agent logs them). */
  onBackgroundError?: (message: string) => void;
  /**
   * Run `addr add`/`addr del` through an `ip -batch` started ahead of time
   * (ip-warm.ts). Default: on in the agent's own namespace, off with netns
   * (a waiting ip would keep a namespace a test deleted alive).
   */
  warmIp?: boolean;
}

/** `ip addr add` met an address that is there already (older kernels: "File exists"; with extended errors: "Address already assigned"). */
export const ADDRESS_EXISTS = /File exists|Address already assigned/;
/** `ip addr del` met an address that is not there ("Cannot assign requested address"; with extended errors: "Address not found"). */
export const ADDRESS_ABSENT = /Cannot assign requested address|Address not found/;

const USAGE = "ip[/netmask[/interface[:label]][/broadcast]]";

function result(ok: boolean, output: string, extra: Partial<ActionResult> = {}): ActionResult {
  return { ok, exitCode: null, timedOut: false, output, ...extra };
}

class Deadline {
  private readonly end: number;
  constructor(timeoutMs: number) {
    this.end = performance.now() + Math.max(0, timeoutMs);
  }
  /** Time for the next command: what is left, at most IP_COMMAND_TIMEOUT_MS. */
  next(): number {
    return Math.max(0, Math.min(IP_COMMAND_TIMEOUT_MS, Math.floor(this.end - performance.now())));
  }
}

export function createIpClass(name: string, style: AddressStyle, defaults: Readonly<GarpOptions>, options: IpClassOptions = {}): ResourceClass {
  const netns = options.netns ?? null;
  const warm = options.warmIp ?? netns === null;
  const garp: GarpOptions = {
    arpCount: options.arpCount ?? defaults.arpCount,
    arpIntervalMs: options.arpIntervalMs ?? defaults.arpIntervalMs,
    arpRefreshAfterMs: options.arpRefreshAfterMs ?? defaults.arpRefreshAfterMs,
    arpRefreshCount: options.arpRefreshCount ?? defaults.arpRefreshCount,
  };

  const failed = (who: string, r: CommandResult | null, msg: string, action: Action): ActionResult =>
    result(false, `${who}: ${action} failed: ${msg}`, { timedOut: r?.timedOut ?? false, ...(action === "status" ? { state: "failed" as const } : {}) });

  async function start(who: string, arg: IpArgument, ifaces: IfInfo[], ctx: ActionContext, dl: Deadline): Promise<ActionResult> {
    const present = findPresent(arg.ip, ifaces, arg.iface);
    if (present.length > 0) {
      const p = present[0]!;
      return result(true, `${who}: already running: ${arg.ip}/${p.addr.prefixlen} is on ${p.addr.label}`);
    }
    const place = findPlacement(arg, ifaces);
    if ("error" in place) return failed(who, null, place.error, "start");
    let label: string | null = null;
    if (style === "alias") {
      const l = freeAliasLabel(place.iface, ifaces);
      if (typeof l !== "string") return failed(who, null, l.error, "start");
      label = l;
    } else if (arg.label !== null) {
      label = `${place.iface}:${arg.label}`;
    }
    const cidr = `${arg.ip}/${place.prefix}`;
    const add = ["addr", "add", cidr, ...(place.broadcast ? ["brd", place.broadcast] : []), "dev", place.iface, ...(label ? ["label", label] : [])];
    const r = await runIp4(add, netns, { timeoutMs: dl.next(), signal: ctx.signal, warm });
    // "File exists": someone added it between our look and our add; it is there, which is what start wants.
    if (!r.ok && !(r.exitCode !== null && ADDRESS_EXISTS.test(r.stderr))) return failed(who, r, describeFailure(r), "start");
    const notes: string[] = [];
    const link = ifaces.find((i) => i.name === place.iface);
    if (link && !link.up) {
      const up = await runCommand(ipArgv(["link", "set", "dev", place.iface, "up"], netns), { timeoutMs: dl.next(), signal: ctx.signal });
      if (!up.ok) return failed(who, up, `added ${cidr} to ${place.iface} but could not bring it up: ${describeFailure(up)}`, "start");
      notes.push(`brought ${place.iface} up`);
    }
    // announce() has started the first arping when it returns its promise.
    const announced = announce({ iface: place.iface, ip: arg.ip, netns }, garp, {
      waitMs: Math.min(options.firstArpWaitMs ?? FIRST_ARP_WAIT_MS, dl.next()),
      ...(options.onBackgroundError ? { onError: options.onBackgroundError } : {}),
    }).then((a) => `; ${a.first === "failed" ? `gratuitous ARP could not be sent: ${a.detail}` : a.detail}`);
    const what = `${cidr}${place.broadcast ? ` brd ${place.broadcast}` : ""} on ${place.iface}${label ? ` (label ${label})` : ""}`;
    const done = `${who}: started: added ${what}, netmask and interface ${place.how}${notes.map((n) => `; ${n}`).join("")}`;
    // In a group, the next resource need not wait for arping to confirm the
    // first packet (the address is there, the packet is on its way, and the
    // confirmation cannot fail the start): the runner waits for it before
    // the group counts as started, as Heartbeat's IPaddr2 sends its ARPs in
    // the background. Called alone, start returns once it is confirmed.
    if (ctx.finishLater) {
      ctx.finishLater(announced);
      return result(true, done);
    }
    return result(true, done + (await announced));
  }

  async function stop(who: string, arg: IpArgument, ifaces: IfInfo[], ctx: ActionContext, dl: Deadline): Promise<ActionResult> {
    const cancelled = cancelAnnouncements({ ip: arg.ip, netns });
    const here = findPresent(arg.ip, ifaces, null);
    if (arg.iface !== null && ifaces.find((i) => i.name === arg.iface)?.loopback) here.push(...findPresent(arg.ip, ifaces, arg.iface));
    const note = cancelled > 0 ? ` (cancelled ${cancelled} pending gratuitous ARP)` : "";
    if (here.length === 0) return result(true, `${who}: not running: ${arg.ip} is on no interface${note}`);
    const removed: string[] = [];
    for (const p of here) {
      const cidr = `${arg.ip}/${p.addr.prefixlen}`;
      const r = await runIp4(["addr", "del", cidr, "dev", p.iface], netns, { timeoutMs: dl.next(), signal: ctx.signal, warm });
      // "Cannot assign requested address": gone already, which is what stop wants.
      if (!r.ok && !(r.exitCode !== null && ADDRESS_ABSENT.test(r.stderr))) return failed(who, r, describeFailure(r), "stop");
      removed.push(`${cidr} from ${p.addr.label}`);
    }
    return result(true, `${who}: stopped: removed ${removed.join(", ")}${note}`);
  }

  function status(who: string, arg: IpArgument, ifaces: IfInfo[]): ActionResult {
    const present = findPresent(arg.ip, ifaces, arg.iface);
    if (present.length > 0) {
      const p = present[0]!;
      return result(true, `${who}: running: ${arg.ip}/${p.addr.prefixlen} on ${p.addr.label}`, { state: "running" });
    }
    const elsewhere = arg.iface !== null ? findPresent(arg.ip, ifaces, null) : [];
    if (elsewhere.length > 0) {
      return result(false, `${who}: ${arg.ip} is on ${elsewhere.map((p) => p.iface).join(", ")}, not on ${arg.iface} as configured`, { state: "failed" });
    }
    return result(false, `${who}: stopped: ${arg.ip} is on no interface${arg.iface !== null ? ` (looked on ${arg.iface})` : ""}`, { state: "stopped" });
  }

  /** The argument, checked, or the failed result of `action`. */
  function parse(spec: ResourceSpec, who: string, action: Action): IpArgument | ActionResult {
    if (action !== "start" && action !== "stop" && action !== "status") return failed(who, null, `unknown action '${String(action)}'`, action);
    if (spec.args.length !== 1) return failed(who, null, `expects one argument ${USAGE}, got ${spec.args.length}`, action);
    const arg = parseIpArgument(spec.args[0]!);
    if ("error" in arg) return failed(who, null, `bad argument (${USAGE}): ${arg.error}`, action);
    const bad = checkAddress(arg);
    if (bad) return failed(who, null, `bad argument: ${bad}`, action);
    return arg;
  }

  const whoOf = (spec: ResourceSpec) => `${name}::${spec.args.join("::")}`;

  async function act(spec: ResourceSpec, action: Action, ctx: ActionContext): Promise<ActionResult> {
    const who = whoOf(spec);
    const arg = parse(spec, who, action);
    if ("ok" in arg) return arg;
    const dl = new Deadline(ctx.timeoutMs);
    if (warm) warmIp(netns);
    const list = await listInterfaces({ timeoutMs: dl.next(), signal: ctx.signal, netns });
    if ("error" in list) return failed(who, list.result, `cannot read the interfaces: ${list.error}`, action);
    switch (action) {
      case "start":
        return start(who, arg, list.ifaces, ctx, dl);
      case "stop":
        return stop(who, arg, list.ifaces, ctx, dl);
      case "status":
        return status(who, arg, list.ifaces);
    }
  }

  /**
   * The status for the group runner, and a start from the same interface
   * listing: start would list the interfaces again a few ms after status
   * did, and both read the same thing while nothing else changed them (an
   * address added in between by someone else is met by `ip addr add`'s
   * "already assigned", which start takes as done). The runner uses that
   * start only when no resource was started since.
   */
  async function probe(spec: ResourceSpec, ctx: ActionContext): Promise<Probe> {
    const who = whoOf(spec);
    const arg = parse(spec, who, "status");
    if ("ok" in arg) return { status: arg };
    if (warm) warmIp(netns);
    const list = await listInterfaces({ timeoutMs: new Deadline(ctx.timeoutMs).next(), signal: ctx.signal, netns });
    // Without a listing, start makes its own look (run).
    if ("error" in list) return { status: failed(who, list.result, `cannot read the interfaces: ${list.error}`, "status") };
    const s = status(who, arg, list.ifaces);
    return {
      status: s,
      start: async (startCtx) => {
        try {
          return await start(who, arg, list.ifaces, startCtx, new Deadline(startCtx.timeoutMs));
        } catch (e) {
          return internalError(spec, "start", e);
        }
      },
    };
  }

  const internalError = (spec: ResourceSpec, action: Action, e: unknown): ActionResult =>
    result(false, `${whoOf(spec)}: ${action} failed: internal error: ${(e as Error)?.stack ?? String(e)}`, action === "status" ? { state: "failed" } : {});

  return {
    name,
    async run(spec: ResourceSpec, action: Action, ctx: ActionContext): Promise<ActionResult> {
      try {
        return await act(spec, action, ctx);
      } catch (e) {
        return internalError(spec, action, e);
      }
    },
    async probe(spec: ResourceSpec, ctx: ActionContext): Promise<Probe> {
      try {
        return await probe(spec, ctx);
      } catch (e) {
        return { status: internalError(spec, "status", e) };
      }
    },
  };
}
