// The heartbeat media on real links: UDP media between two network namespaces
// (each medium in its own process, test/dist/fixtures/medium-echo.js, since
// Node cannot open a socket in another namespace), serial media over a socat
// pty pair. Captured Heartbeat datagrams must come out byte-identical.

import type { ChildProcess } from "node:child_process";
import { closeSync, constants, mkdtempSync, openSync, rmSync, writeSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import type { Arrival, Medium, MediumStats } from "@lubdub/host/media/medium";
import { createMedia, defaultUdpPort, MediaConfigError } from "@lubdub/host/media/registry";
import { SerialMedium, WRITE_BACKLOG_LIMIT } from "@lubdub/host/media/serial";
import { UDP_CLOSE_TIMEOUT_MS } from "@lubdub/host/media/udp-socket";
import { classicFrame, loadFixtureSets, noise } from "./support/fixture-frames.js";
import { leftoverNamespaces, NetnsLab } from "./support/netns.js";
import { fromRoot, heartbeatFixturesDir } from "./support/paths.js";
import { PtyPair } from "./support/pty.js";
import { NETNS_LAB, type Requirement, SOCAT, testWhere } from "./support/require.js";
import { Rng } from "./support/rng.js";

const t = suite("media");

const FIXTURES: Requirement = { check: () => (heartbeatFixturesDir() ? null : "needs the Heartbeat 3.0.6 captures (shared/fixtures or LUBDUB_HB_FIXTURES)"), what: "captures" };
const UDP_REQS: Requirement[] = [...NETNS_LAB, FIXTURES];
const PING: Requirement = { command: "ping", pkg: "iputils-ping" };
const SERIAL_REQS: Requirement[] = [SOCAT, FIXTURES];

/** A few captured datagrams and their classic renderings (the serial form). */
function captured(n = 3): { datagram: string; classic: string }[] {
  const sets = loadFixtureSets();
  const set = sets.find((s) => s.datagrams.length >= n) ?? sets[0];
  if (!set) throw new Error("no capture set");
  return set.datagrams.slice(0, n).map((d) => ({ datagram: d, classic: classicFrame(d, set.keys) }));
}

async function waitFor<T>(what: string, get: () => T | undefined | null | false, ms = 5000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = get();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- UDP

interface EchoEvent {
  event: string;
  link?: string;
  from?: string;
  b64?: string;
  message?: string;
  stats?: (MediumStats & { link: string })[];
}

/** A medium-echo process in a lab host, driven over its stdin/stdout. */
class Echo {
  readonly events: EchoEvent[] = [];
  private constructor(readonly child: ChildProcess, readonly label: string) {
    createInterface({ input: child.stdout! }).on("line", (l) => {
      try {
        this.events.push(JSON.parse(l) as EchoEvent);
      } catch {
        this.events.push({ event: "garbage", message: l });
      }
    });
    child.stderr!.on("data", (d: Buffer) => this.events.push({ event: "stderr", message: d.toString() }));
  }

  static async start(lab: NetnsLab, host: number, line: string[]): Promise<Echo> {
    const child = lab.exec(host, [process.execPath, fromRoot("test", "dist", "fixtures", "medium-echo.js"), ...line]);
    const e = new Echo(child, `h${host}: ${line.join(" ")}`);
    running.add(e);
    const first = await waitFor(`${e.label} to open`, () => e.events.find((x) => x.event === "open" || x.event === "open-failed" || x.event === "stderr"));
    if (first.event !== "open") throw new Error(`${e.label}: ${first.message}`);
    return e;
  }

  private command(o: object): void {
    this.child.stdin!.write(JSON.stringify(o) + "\n");
  }

  send(datagram: string, count = 1): void {
    this.command({ op: "send", datagram_b64: Buffer.from(datagram, "latin1").toString("base64"), count });
  }

  arrivals(): { bytes: string; from: string; link: string }[] {
    return this.events
      .filter((e) => e.event === "arrival")
      .map((e) => ({ bytes: Buffer.from(e.b64!, "base64").toString("latin1"), from: e.from!, link: e.link! }));
  }

  errors(): string[] {
    return this.events.filter((e) => e.event === "error").map((e) => e.message!);
  }

  async arrival(bytes: string, ms = 5000): Promise<{ bytes: string; from: string; link: string }> {
    return waitFor(`${this.label} to receive ${bytes.length} bytes`, () => this.arrivals().find((a) => a.bytes === bytes), ms);
  }

  async stats(): Promise<MediumStats & { link: string }> {
    const before = this.events.length;
    this.command({ op: "stats" });
    const e = await waitFor(`${this.label} stats`, () => this.events.slice(before).find((x) => x.event === "stats"));
    return e.stats![0]!;
  }

  alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async close(): Promise<void> {
    running.delete(this);
    if (!this.alive()) return;
    const exited = new Promise((r) => this.child.once("exit", r));
    this.command({ op: "close" });
    await Promise.race([exited, sleep(3000)]);
    if (this.alive()) this.child.kill("SIGKILL");
  }
}

const running = new Set<Echo>();
let labInstance: NetnsLab | null = null;

/** The two-host lab on 192.0.2.0/24, made on first use. */
function lab(): NetnsLab {
  labInstance ??= NetnsLab.create({ hosts: 2, net: "192.0.2" });
  return labInstance;
}

/** Runs a lab test and closes every echo process it started, whatever happens. */
async function withEchoes(fn: (l: NetnsLab) => Promise<void>): Promise<void> {
  try {
    await fn(lab());
  } finally {
    await Promise.all([...running].map((e) => e.close()));
  }
}

testWhere(t, "ucast: captured datagrams cross both ways byte-identical, from the sender's address", UDP_REQS, () =>
  withEchoes(async (l) => {
    const [d1, d2] = captured(2);
    const a = await Echo.start(l, 1, ["ucast", "lub0", l.host(2).address]);
    const b = await Echo.start(l, 2, ["ucast", "lub0", l.host(1).address]);
    a.send(d1!.datagram);
    const got = await b.arrival(d1!.datagram);
    assert.match(got.from, /^192\.0\.2\.1:\d+$/);
    assert.is(got.link, "lub0");
    b.send(d2!.datagram);
    const back = await a.arrival(d2!.datagram);
    assert.match(back.from, /^192\.0\.2\.2:\d+$/);
    assert.not.match(back.from, /:694$/, "sent from an ephemeral port, as Heartbeat's write socket");
    const sa = await a.stats();
    assert.equal([sa.sent, sa.received, sa.sendErrors], [1, 1, 0]);
  }),
);

testWhere(t, "bcast: a captured datagram reaches the other host through the broadcast address", UDP_REQS, () =>
  withEchoes(async (l) => {
    const [d] = captured(1);
    const a = await Echo.start(l, 1, ["bcast", "lub0"]);
    const b = await Echo.start(l, 2, ["bcast", "lub0"]);
    a.send(d!.datagram);
    const got = await b.arrival(d!.datagram);
    assert.match(got.from, /^192\.0\.2\.1:\d+$/);
    b.send(d!.datagram);
    await a.arrival(d!.datagram);
    // The sender's own broadcast loops back and is passed on too: the membership core drops it by src.
    const own = await waitFor("own broadcast", () => b.arrivals().find((x) => x.from.startsWith("192.0.2.2:")), 2000).catch(() => null);
    if (own) assert.is(own.bytes, d!.datagram);
  }),
);

testWhere(t, "mcast 225.0.0.1 with loop 0: the peer gets the datagram, the sender does not hear itself", UDP_REQS, () =>
  withEchoes(async (l) => {
    const [d] = captured(1);
    const a = await Echo.start(l, 1, ["mcast", "lub0", "225.0.0.1", "694", "1", "0"]);
    const b = await Echo.start(l, 2, ["mcast", "lub0", "225.0.0.1", "694", "1", "0"]);
    a.send(d!.datagram);
    const got = await b.arrival(d!.datagram);
    assert.match(got.from, /^192\.0\.2\.1:\d+$/);
    b.send(d!.datagram);
    await a.arrival(d!.datagram);
    await sleep(300);
    assert.is(a.arrivals().filter((x) => x.from.startsWith("192.0.2.1:")).length, 0, "no loopback copy");
    assert.is(b.arrivals().filter((x) => x.from.startsWith("192.0.2.2:")).length, 0, "no loopback copy");
  }),
);

testWhere(t, "oversize datagrams are dropped and counted on both sides, the rest still flows", UDP_REQS, () =>
  withEchoes(async (l) => {
    const [d] = captured(1);
    const a = await Echo.start(l, 1, ["ucast", "lub0", l.host(2).address]);
    const b = await Echo.start(l, 2, ["--max-datagram", "1000", "ucast", "lub0", l.host(1).address]);
    const big = "###\n" + "x".repeat(2996);
    a.send(big);
    a.send(d!.datagram);
    await b.arrival(d!.datagram);
    await sleep(100);
    const sb = await b.stats();
    assert.equal([sb.received, sb.droppedFrames, sb.droppedBytes], [1, 1, 3000]);
    assert.not.ok(b.arrivals().some((x) => x.bytes === big));
    // Over what one UDP datagram can carry: refused by the sender, counted, reported, no crash.
    a.send("y".repeat(70_000));
    await waitFor("oversize reported", () => a.errors().find((m) => m.includes("70000 bytes")));
    const sa = await a.stats();
    assert.is(sa.sendErrors, 1);
    assert.ok(a.alive());
  }),
);

testWhere(t, "cable cut: sends fail, are counted and reported once, never thrown; traffic resumes when it is back", UDP_REQS, () =>
  withEchoes(async (l) => {
    const [d1, d2] = captured(2);
    const a = await Echo.start(l, 1, ["ucast", "lub0", l.host(2).address]);
    const b = await Echo.start(l, 2, ["ucast", "lub0", l.host(1).address]);
    a.send(d1!.datagram);
    await b.arrival(d1!.datagram);
    l.linkDown(1);
    try {
      a.send(d2!.datagram, 5);
      await waitFor("5 failures", () => a.events.some((e) => e.event === "error"), 3000);
      await sleep(200);
      const down = await a.stats();
      assert.is(down.sendErrors, 5);
      assert.is(a.errors().length, 1, "one report per burst");
      assert.match(a.errors()[0]!, /unreachable|ENETUNREACH|EHOSTUNREACH|ENETDOWN/i);
      assert.ok(a.alive());
    } finally {
      l.linkUp(1);
    }
    // The kernel restores the route with the link; heartbeats keep coming, so retry until one lands.
    await waitFor(
      "traffic after the link is back",
      () => {
        a.send(d2!.datagram);
        return b.arrivals().some((x) => x.bytes === d2!.datagram);
      },
      5000,
    );
    const up = await a.stats();
    assert.is(up.sendErrors, 5, "no failures once the link is back");
    assert.ok(up.sent >= 2);
  }),
);

testWhere(t, "netns lab: cleanup kills its processes and removes every namespace it made", [...NETNS_LAB, PING], async () => {
  const l = NetnsLab.create({ hosts: 3 });
  const sleeper = l.exec(1, ["sleep", "60"]);
  assert.ok(l.execSync(2, ["ping", "-c", "1", "-W", "2", l.host(3).address]).includes("1 received"));
  l.cleanup();
  await waitFor("sleep killed", () => sleeper.exitCode !== null || sleeper.signalCode !== null, 3000);
  labInstance?.cleanup();
  labInstance = null;
  assert.equal(leftoverNamespaces(), []);
});

// ---------------------------------------------------------------- serial

interface Opened {
  medium: SerialMedium;
  arrivals: Arrival[];
  errors: string[];
}

async function openSerial(path: string): Promise<Opened> {
  const [m] = createMedia("serial", [path], { baud: "19200" }) as [SerialMedium];
  const o: Opened = { medium: m, arrivals: [], errors: [] };
  await m.open((a) => o.arrivals.push(a), (e) => o.errors.push(e.message));
  return o;
}

/** Opens a pty end for raw writes, as another program on the line would. */
function rawEnd(path: string): number {
  return openSync(path, constants.O_RDWR | constants.O_NOCTTY);
}

testWhere(t, "serial: captured messages cross both ways at 19200 in the classic format, byte-identical", SERIAL_REQS, async () => {
  const pty = await PtyPair.open();
  const media: Medium[] = [];
  try {
    const frames = captured(3);
    const a = await openSerial(pty.a);
    const b = await openSerial(pty.b);
    media.push(a.medium, b.medium);
    assert.is(a.medium.baud, 19200);
    assert.is(a.medium.linkName, pty.a);
    for (const f of frames) a.medium.send(f);
    await waitFor("3 frames at b", () => b.arrivals.length >= 3);
    assert.equal(b.arrivals.map((x) => x.bytes), frames.map((f) => f.classic));
    assert.is(b.arrivals[0]!.from, pty.b);
    b.medium.send(frames[0]!);
    await waitFor("frame at a", () => a.arrivals.length >= 1);
    assert.is(a.arrivals[0]!.bytes, frames[0]!.classic);
    assert.equal([a.medium.stats.sent, a.medium.stats.received, b.medium.stats.droppedBytes], [3, 1, 0]);
  } finally {
    await Promise.all(media.map((m) => m.close()));
    await pty.close();
  }
});

testWhere(t, "serial: noise and cut frames between messages are counted, the messages arrive whole", SERIAL_REQS, async () => {
  const pty = await PtyPair.open();
  let medium: Medium | null = null;
  const fd = rawEnd(pty.b);
  try {
    const [f1, f2] = captured(2);
    const a = await openSerial(pty.a);
    medium = a.medium;
    const rng = new Rng(694);
    const n1 = noise(rng, 300) + "\r\n";
    const n2 = "line noise \x00\xff\x7f<<<\n";
    const cut = f2!.classic.slice(0, 40); // a frame cut short by the next start marker
    writeSync(fd, Buffer.from(n1 + f1!.classic + n2 + cut + f2!.classic, "latin1"));
    await waitFor("2 frames", () => a.arrivals.length >= 2);
    assert.equal(a.arrivals.map((x) => x.bytes), [f1!.classic, f2!.classic]);
    assert.is(a.medium.stats.droppedFrames, 1);
    assert.is(a.medium.stats.droppedBytes, n1.length + n2.length + cut.length);
    assert.is(a.medium.stats.received, 2);
  } finally {
    closeSync(fd);
    await medium?.close();
    await pty.close();
  }
});

testWhere(t, "serial: the pty pulled from under the medium is reported, and it reopens when the path comes back", SERIAL_REQS, async () => {
  const dir = mkdtempSync(join(tmpdir(), "lubdub-serial-"));
  let pty = await PtyPair.open({ dir });
  const media: Medium[] = [];
  try {
    const [f1, f2] = captured(2);
    const a = await openSerial(pty.a);
    const b = await openSerial(pty.b);
    media.push(a.medium, b.medium);
    a.medium.send(f1!);
    await waitFor("first frame", () => b.arrivals.length === 1);
    await pty.close(false);
    await waitFor("onError on both ends", () => a.errors.length > 0 && b.errors.length > 0);
    assert.match(a.errors[0]!, pty.a);
    assert.not.ok(a.medium.isOpen);
    const before = a.medium.stats.sendErrors;
    a.medium.send(f1!); // nowhere to go: counted, not thrown
    assert.is(a.medium.stats.sendErrors, before + 1);
    pty = await PtyPair.open({ dir });
    await waitFor("both ends reopened", () => a.medium.isOpen && b.medium.isOpen && a.medium.opens === 2 && b.medium.opens === 2, 10_000);
    a.medium.send(f2!);
    b.medium.send(f1!);
    await waitFor("frames after the reopen", () => b.arrivals.length === 2 && a.arrivals.length === 1);
    assert.is(b.arrivals[1]!.bytes, f2!.classic);
    assert.is(a.arrivals[0]!.bytes, f1!.classic);
  } finally {
    await Promise.all(media.map((m) => m.close()));
    await pty.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

testWhere(t, "serial: a tty nobody drains holds at most the backlog limit; the excess is dropped and counted", SERIAL_REQS, async () => {
  const pty = await PtyPair.open(); // nothing ever opens B, so nothing drains
  let medium: SerialMedium | null = null;
  try {
    const [f] = captured(1);
    const a = await openSerial(pty.a);
    medium = a.medium;
    let maxBacklog = 0;
    const until = Date.now() + 1500;
    while (Date.now() < until) {
      for (let i = 0; i < 50; i++) a.medium.send(f!);
      maxBacklog = Math.max(maxBacklog, a.medium.writeBacklog());
      await sleep(10);
    }
    assert.ok(maxBacklog <= WRITE_BACKLOG_LIMIT, `backlog ${maxBacklog} within ${WRITE_BACKLOG_LIMIT}`);
    assert.ok(a.medium.stats.sendErrors > 0, "messages dropped");
    assert.ok(a.errors.some((m) => m.includes("dropping")), "the drop was reported");
  } finally {
    await medium?.close();
    await pty.close();
  }
});

// ---------------------------------------------------------------- registry and close

t("registry: one factory per ha.cf directive, arguments as ha.cf writes them", () => {
  const b = createMedia("bcast", ["eth0", "eth1"]);
  assert.equal(b.map((m) => [m.kind, m.linkName]), [["bcast", "eth0"], ["bcast", "eth1"]]);
  const [u] = createMedia("ucast", ["eth0", "192.0.2.2"], { udpport: 1001 });
  assert.equal([u!.kind, u!.linkName], ["ucast", "eth0"]);
  assert.equal(createMedia("serial", ["/dev/ttyS0", "/dev/ttyS1"]).map((m) => m.linkName), ["/dev/ttyS0", "/dev/ttyS1"]);
  assert.is(createMedia("mcast", ["eth0", "225.0.0.1", "694", "1", "0"])[0]!.linkName, "eth0");
  const bad: [string, string[], RegExp][] = [
    ["ucast", ["eth0"], /ucast IFACE PEER_IP/],
    ["ucast", ["eth0", "node2"], /not an IPv4 address/],
    ["mcast", ["eth0", "192.0.2.9", "694", "1", "0"], /multicast group/],
    ["mcast", ["eth0", "225.0.0.1", "694", "9", "0"], /ttl/],
    ["mcast", ["eth0", "225.0.0.1", "694", "1", "2"], /loop/],
    ["mcast", ["eth0", "225.0.0.1", "70000", "1", "0"], /port/],
    ["bcast", [], /bcast IFACE/],
    ["ppp", ["x"], /not a heartbeat medium/],
  ];
  for (const [d, args, re] of bad) {
    assert.throws(() => createMedia(d, args), (e: Error) => e instanceof MediaConfigError && re.test(e.message), `${d} ${args.join(" ")}`);
  }
  assert.throws(() => createMedia("serial", ["/dev/ttyS0"], { baud: "12345" }), /baud/);
  assert.is((createMedia("serial", ["/dev/ttyS0"], { baud: "38400" })[0] as SerialMedium).baud, 38400);
});

t("udpport defaults to /etc/services' ha-cluster/udp, else 694", () => {
  const dir = mkdtempSync(join(tmpdir(), "lubdub-services-"));
  try {
    writeFileSync(join(dir, "services"), "ssh 22/tcp\nha-cluster\t1694/udp\t# Heartbeat\n");
    assert.is(defaultUdpPort(join(dir, "services")), 1694);
    writeFileSync(join(dir, "none"), "ssh 22/tcp\n");
    assert.is(defaultUdpPort(join(dir, "none")), 694);
    assert.is(defaultUdpPort(join(dir, "missing")), 694);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

t("UDP media on loopback share one receive socket, open, carry and close within the bound", async () => {
  const port = 20000 + (process.pid % 20000);
  const [m1] = createMedia("ucast", ["lo", "127.0.0.1"], { udpport: port });
  const [m2] = createMedia("ucast", ["lo", "127.0.0.2"], { udpport: port });
  const got1: Arrival[] = [];
  const got2: Arrival[] = [];
  const errs: string[] = [];
  await m1!.open((a) => got1.push(a), (e) => errs.push(e.message));
  await m2!.open((a) => got2.push(a), (e) => errs.push(e.message));
  try {
    m1!.send({ datagram: "###\nt=a\n%%%\n", classic: "" });
    await waitFor("arrival", () => got1.length === 1);
    // The sender 127.0.0.1 is m1's peer, so m1 gets it, and only m1.
    assert.is(got2.length, 0);
    assert.is(got1[0]!.bytes, "###\nt=a\n%%%\n");
  } finally {
    const started = Date.now();
    await Promise.all([m1!.close(), m2!.close()]);
    assert.ok(Date.now() - started <= UDP_CLOSE_TIMEOUT_MS + 200);
  }
  assert.equal(errs, []);
  m1!.send({ datagram: "x", classic: "" }); // after close: counted, never thrown
  assert.is(m1!.stats.sendErrors, 1);
});

t.after(async () => {
  await Promise.all([...running].map((e) => e.close()));
  labInstance?.cleanup();
});

t.run();
