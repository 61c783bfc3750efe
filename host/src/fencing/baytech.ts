// `baytech`: the BayTech RPC console (RPC-3, RPC-3A, RPC-5 and compatible
// ones such as the lubdub device's console), reached over TCP (`ipaddr` is
// `host`, `host:port` or `[v6]:port`; port 23 when not given) or over a tty
// (`ipaddr` is a path such as /dev/ttyS1). Configuration names as
// cluster-glue's baytech plugin: `ipaddr login password`.
//
// The dialogue (login, main menu, outlet control, STATUS, on/off/REBOOT N,
// logout) is the one cluster-glue's plugin speaks, but every step is
// bounded by its own timeout, every answer is read (not just its first
// token), and the outlet state is read back after every switch: off counts
// only when the table says Off, a reboot only when power is back On.

import { openSync, constants } from "node:fs";
import { connect, isIP, type Socket } from "node:net";
import { ReadStream, WriteStream } from "node:tty";
import { Expect, ExpectError } from "./expect.js";
import { abortedOutcome, done, fail, type FenceDevice, type FenceEnv, type FenceOutcome, type FenceRequest, type FenceType } from "./types.js";

export const BAYTECH_NAMES = ["ipaddr", "login", "password"];
export const BAYTECH_PORT = 23;

export interface BaytechTimeouts {
  /** TCP connect / tty open. */
  connectMs: number;
  /** Connection to the username prompt (banner). */
  bannerMs: number;
  /** Every other prompt. */
  stepMs: number;
  /** REBOOT N to "Power applied to outlet" (the whole off time). */
  rebootMs: number;
}

export const BAYTECH_TIMEOUTS: BaytechTimeouts = { connectMs: 10_000, bannerMs: 10_000, stepMs: 5_000, rebootMs: 30_000 };

export interface BaytechOutlet {
  n: number;
  name: string;
  /** null when the console prints no On/Off column. */
  on: boolean | null;
}

/** The console's outlet prompt: the model name then ">" (RPC-3>, RPC-5>, RPC-3A>). */
const OUTLET_PROMPT = /RPC[^\s>]*>/;

/** Reads the outlet table out of a status screen. */
export function parseOutletTable(text: string): BaytechOutlet[] {
  const out: BaytechOutlet[] = [];
  for (const raw of text.split(/\r\n|\n\r|\n|\r/)) {
    const m = /^ *([0-9]+) {2,}(\S.*)$/.exec(raw);
    if (!m) continue;
    let rest = m[2]!.replace(/\s+$/, "");
    let on: boolean | null = null;
    const st = /\s{2,}(On|Off)$/i.exec(rest);
    if (st) {
      on = st[1]!.toLowerCase() === "on";
      rest = rest.slice(0, st.index);
    }
    out.push({ n: Number(m[1]), name: rest.trim(), on });
  }
  return out;
}

/** host, host:port, [v6]:port or a bare v6 literal → where to connect; null for a tty path. */
export function parseConsoleAddress(ipaddr: string): { host: string; port: number } | { tty: string } | null {
  if (ipaddr.startsWith("/")) return { tty: ipaddr };
  const v6 = /^\[([^\]]+)\](?::([0-9]{1,5}))?$/.exec(ipaddr);
  if (v6) return isIP(v6[1]!) === 6 ? { host: v6[1]!, port: v6[2] ? Number(v6[2]) : BAYTECH_PORT } : null;
  if (isIP(ipaddr) === 6) return { host: ipaddr, port: BAYTECH_PORT };
  const m = /^([A-Za-z0-9._-]+)(?::([0-9]{1,5}))?$/.exec(ipaddr);
  if (!m) return null;
  const port = m[2] ? Number(m[2]) : BAYTECH_PORT;
  if (port < 1 || port > 65535) return null;
  return { host: m[1]!, port };
}

class Failure extends Error {
  constructor(readonly outcome: FenceOutcome) {
    super(outcome.ok ? "ok" : outcome.message);
  }
}

function stepError(e: unknown, signal?: AbortSignal): FenceOutcome {
  if (e instanceof Failure) return e.outcome;
  if (signal?.aborted) return abortedOutcome(signal, "baytech");
  if (e instanceof ExpectError) return fail(e.kind === "timeout" ? "timeout" : e.kind === "aborted" ? "aborted" : "unreachable", e.message);
  return fail("unreachable", (e as Error).message);
}

/** One console session: open, log in, work, log out. */
class Session {
  private constructor(
    private readonly x: Expect,
    private readonly t: BaytechTimeouts,
  ) {}

  static async open(ipaddr: string, t: BaytechTimeouts, signal?: AbortSignal): Promise<Session> {
    const addr = parseConsoleAddress(ipaddr);
    if (addr === null) throw new Failure(fail("config", `baytech: '${ipaddr}' is not host[:port] or a tty path`));
    if ("tty" in addr) {
      let fd: number;
      try {
        fd = openSync(addr.tty, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK);
      } catch (e) {
        throw new Failure(fail("unreachable", `baytech: cannot open ${addr.tty}: ${(e as Error).message}`));
      }
      const input = new ReadStream(fd);
      input.setRawMode(true);
      return new Session(new Expect(input, new WriteStream(fd), signal), t);
    }
    const sock = await new Promise<Socket>((resolve, reject) => {
      const s = connect({ host: addr.host, port: addr.port });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Failure(fail("timeout", `baytech: no connection to ${addr.host}:${addr.port} within ${t.connectMs} ms`)));
      }, t.connectMs);
      const onAbort = () => {
        clearTimeout(timer);
        s.destroy();
        reject(new Failure(abortedOutcome(signal, "baytech connect")));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      s.once("connect", () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        resolve(s);
      });
      s.once("error", (e) => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        reject(new Failure(fail("unreachable", `baytech: ${addr.host}:${addr.port}: ${e.message}`)));
      });
    });
    return new Session(new Expect(sock, sock, signal), t);
  }

  async login(user: string, password: string): Promise<void> {
    await this.x.expect("username>", this.t.bannerMs);
    await this.x.send(`${user}\r`);
    const p = await this.x.expect(["password>", "username>"], this.t.stepMs);
    if (p.index === 1) throw new Failure(fail("refused", "baytech: user name refused"));
    await this.x.send(`${password}\r`);
    const r = await this.x.expect(["Menu:", "Invalid password", "locked", "username>"], this.t.stepMs);
    if (r.index !== 0) throw new Failure(fail("refused", `baytech: login refused (${r.index === 2 ? "console locked" : "invalid password"})`));
    await this.x.expect("election>", this.t.stepMs);
  }

  /** From the main menu into outlet control; returns the table it shows. */
  async outletControl(): Promise<BaytechOutlet[]> {
    await this.x.send("1\r");
    const m = await this.x.expect(OUTLET_PROMPT, this.t.stepMs);
    return parseOutletTable(m.before);
  }

  async status(): Promise<BaytechOutlet[]> {
    await this.x.send("STATUS\r");
    const m = await this.x.expect(OUTLET_PROMPT, this.t.stepMs);
    const table = parseOutletTable(m.before);
    if (table.length === 0) throw new Failure(fail("failed", "baytech: STATUS showed no outlet table"));
    return table;
  }

  /** on N / off N, answering a (Y/N)> confirmation. */
  async switchOutlet(n: number, on: boolean): Promise<void> {
    await this.x.send(`${on ? "on" : "off"} ${n}\r`);
    for (;;) {
      const m = await this.x.expect([OUTLET_PROMPT, "(Y/N)>"], this.t.stepMs);
      if (m.index === 0) return;
      await this.x.send("Y\r");
    }
  }

  /** REBOOT N; resolves once power is back (false: the outlet was off and stays off). */
  async reboot(n: number): Promise<boolean> {
    await this.x.send(`REBOOT ${n}\r`);
    for (;;) {
      const m = await this.x.expect(["ebooting selected outlet", "(Y/N)>", "already off."], this.t.stepMs);
      if (m.index === 0) break;
      if (m.index === 2) {
        await this.x.expect(OUTLET_PROMPT, this.t.stepMs);
        return false;
      }
      await this.x.send("Y\r");
    }
    await this.x.expect("ower applied to outlet", this.t.rebootMs);
    await this.x.expect(OUTLET_PROMPT, this.t.stepMs);
    return true;
  }

  /** Back to the main menu and log out; never fails the operation. */
  async logout(): Promise<void> {
    try {
      await this.x.send("MENU\r");
      await this.x.expect("election>", this.t.stepMs);
      await this.x.send("6\r");
    } catch {
      // the work is done; a console that hangs up first is fine
    } finally {
      this.x.close();
    }
  }

  close(): void {
    this.x.close();
  }
}

function outletsOf(table: BaytechOutlet[], node: string): BaytechOutlet[] {
  return table.filter((o) => o.name.toLowerCase() === node.toLowerCase());
}

export class BaytechDevice implements FenceDevice {
  readonly type = "baytech";
  readonly describe: string;

  constructor(
    private readonly p: { ipaddr: string; login: string; password: string },
    private readonly t: BaytechTimeouts = BAYTECH_TIMEOUTS,
  ) {
    this.describe = `baytech ${p.ipaddr} as ${p.login}`;
  }

  /** Logs in, runs `work` in outlet control, logs out. */
  private async session<T>(signal: AbortSignal | undefined, work: (s: Session, table: BaytechOutlet[]) => Promise<T>): Promise<T> {
    if (signal?.aborted) throw new Failure(abortedOutcome(signal, "baytech"));
    const s = await Session.open(this.p.ipaddr, this.t, signal);
    try {
      await s.login(this.p.login, this.p.password);
      const table = await s.outletControl();
      const r = await work(s, table);
      await s.logout();
      return r;
    } finally {
      s.close();
    }
  }

  async fence(req: FenceRequest): Promise<FenceOutcome> {
    try {
      return await this.session(req.signal, async (s) => {
        const mine = outletsOf(await s.status(), req.node);
        if (mine.length === 0) return fail("badhost", `baytech ${this.p.ipaddr}: no outlet named ${req.node}`);
        const nums = mine.map((o) => o.n);
        const readBack = async (): Promise<BaytechOutlet[]> => outletsOf(await s.status(), req.node);
        if (req.action === "status") {
          const states = mine.map((o) => o.on);
          return done(states.some((x) => x === true) ? "on" : states.every((x) => x === false) ? "off" : "unknown");
        }
        if (req.action === "on" || req.action === "off") {
          const on = req.action === "on";
          for (const n of nums) await s.switchOutlet(n, on);
          const after = await readBack();
          if (after.some((o) => o.on !== on)) return fail("unverified", `baytech: outlet(s) ${nums.join(",")} of ${req.node} not ${req.action} after switching (${after.map((o) => `${o.n}:${o.on ? "On" : "Off"}`).join(" ")})`);
          return done(req.action, `outlet(s) ${nums.join(",")}`);
        }
        // reboot: one outlet is cycled by the console; several are all switched
        // off (and checked off) before any comes back, so no supply keeps the host up.
        if (nums.length === 1) {
          const cycled = await s.reboot(nums[0]!);
          const after = await readBack();
          if (!cycled) {
            if (after.some((o) => o.on !== false)) return fail("unverified", `baytech: outlet ${nums[0]} said already off but reads On`);
            return done("off", `outlet ${nums[0]} was already off`);
          }
          if (after.some((o) => o.on === false)) return fail("unverified", `baytech: outlet ${nums[0]} still Off after the reboot`);
          return done("on", `outlet ${nums[0]} cycled`);
        }
        for (const n of nums) await s.switchOutlet(n, false);
        const off = await readBack();
        if (off.some((o) => o.on !== false)) return fail("unverified", `baytech: outlets ${nums.join(",")} of ${req.node} not all Off`);
        for (const n of nums) await s.switchOutlet(n, true);
        return done("on", `outlets ${nums.join(",")} cycled`);
      });
    } catch (e) {
      return stepError(e, req.signal);
    }
  }

  async check(signal?: AbortSignal): Promise<FenceOutcome> {
    try {
      return await this.session(signal, async (s) => {
        const table = await s.status();
        return done("unknown", `${table.length} outlets`);
      });
    } catch (e) {
      return stepError(e, signal);
    }
  }

  /** Outlet table as the console shows it. */
  async outlets(signal?: AbortSignal): Promise<BaytechOutlet[]> {
    try {
      return await this.session(signal, (s) => s.status());
    } catch (e) {
      const o = stepError(e, signal);
      throw new Error(o.ok ? "baytech" : o.message);
    }
  }

  async hosts(signal?: AbortSignal): Promise<string[]> {
    return [...new Set((await this.outlets(signal)).map((o) => o.name.toLowerCase()))];
  }
}

export const baytechType: FenceType = {
  name: "baytech",
  matches: (t) => t === "baytech",
  configNames: () => ({ names: BAYTECH_NAMES, required: 3 }),
  validate(_t, p) {
    const problems: string[] = [];
    for (const n of BAYTECH_NAMES) if (!p[n]) problems.push(`baytech: ${n} is missing`);
    if (p["ipaddr"] && parseConsoleAddress(p["ipaddr"]) === null) problems.push(`baytech: ipaddr '${p["ipaddr"]}' is not host[:port], [v6]:port or a tty path`);
    return problems;
  },
  create: (_t, p, _env: FenceEnv) => new BaytechDevice({ ipaddr: p["ipaddr"]!, login: p["login"]!, password: p["password"]! }),
};
