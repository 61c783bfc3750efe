import { suite } from "uvu";
import * as assert from "uvu/assert";
import { DEVICE_WATCHDOG_MAX_MS, DEVICE_WATCHDOG_MIN_MS, deviceWatchdogMs, monitorFor, parseLubdubCf } from "./lubdub-cf.js";
import { policyConfig } from "../fencing/setup.js";

const t = suite("lubdub.cf");
const KEYS = ["192.0.2.100", "192.0.2.200"];

t("monitor lines with defaults, options and the * line", () => {
  const r = parseLubdubCf("# web\nmonitor 192.0.2.100 interval=10s timeout=30s restarts=2 window=5min\nmonitor * interval=1min\n", "lubdub.cf", KEYS);
  assert.equal(r.diagnostics, []);
  assert.equal(monitorFor(r.config, "192.0.2.100"), { key: "192.0.2.100", intervalMs: 10000, timeoutMs: 30000, restarts: 2, windowMs: 300000, line: 2 });
  assert.is(monitorFor(r.config, "192.0.2.200")!.intervalMs, 60000);
  assert.is(monitorFor(r.config, "192.0.2.200")!.restarts, 3);
});

t("arp lines set the gratuitous ARP of the IP classes", () => {
  const r = parseLubdubCf("arp IPaddr2 count=3 interval=100ms refresh_after=30s refresh_count=2\narp IPaddr count=0\n", "lubdub.cf", KEYS);
  assert.equal(r.diagnostics, []);
  assert.equal(r.config.arp, [
    { className: "IPaddr2", count: 3, intervalMs: 100, refreshAfterMs: 30000, refreshCount: 2, line: 1 },
    { className: "IPaddr", count: 0, line: 2 },
  ]);
});

const BAD: Array<[string, RegExp]> = [
  ["arp IPv6addr count=1", /which class/],
  ["arp IPaddr2 count=1000", /count='1000'/],
  ["arp IPaddr2 interval=1h", /interval='1h'/],
  ["arp IPaddr2 speed=fast", /unknown option 'speed=fast'/],
  ["arp IPaddr2 count=1\narp IPaddr2 count=2", /already set at line 1/],
  ["watch 192.0.2.100 interval=1s", /unknown directive 'watch'/],
  ["monitor", /which group/],
  ["monitor 203.0.113.9 interval=10s", /no group '203\.0\.113\.9'/],
  ["monitor 192.0.2.100", /interval= is required/],
  ["monitor 192.0.2.100 interval=10x", /not a duration/],
  ["monitor 192.0.2.100 interval=100ms", /at least 1000 ms/],
  ["monitor 192.0.2.100 interval=10s restarts=-1", /restarts='-1'/],
  ["monitor 192.0.2.100 interval=10s color=red", /unknown option 'color=red'/],
  ["monitor 192.0.2.100 interval=10s\nmonitor 192.0.2.100 interval=20s", /already has a monitor at line 1/],
];
for (const [text, re] of BAD) {
  t(`bad: ${text.split("\n").pop()}`, () => {
    const r = parseLubdubCf(text + "\n", "lubdub.cf", KEYS);
    assert.ok(r.diagnostics.some((d) => re.test(d.message) && d.line > 0 && d.source === "lubdub.cf"), JSON.stringify(r.diagnostics));
  });
}

t("fencing and fencing_delay lines become this node's policy", () => {
  const r = parseLubdubCf("fencing timeout=2min attempt_timeout=20s retry=1s retry_max=10s action=off alert=/usr/local/sbin/page\nfencing external_dir=/opt/plugins agents_dir=/opt/sbin\nfencing_delay bravo 15s\n", "lubdub.cf", KEYS);
  assert.equal(r.diagnostics, []);
  assert.equal(r.config.fencing, { totalTimeoutMs: 120000, attemptTimeoutMs: 20000, retryMinMs: 1000, retryMaxMs: 10000, action: "off", alert: "/usr/local/sbin/page", externalDir: "/opt/plugins", agentsDir: "/opt/sbin", delays: { bravo: 15000 } });
  assert.equal(policyConfig(r.config.fencing, "BRAVO"), { action: "off", delayMs: 15000, totalTimeoutMs: 120000, attemptTimeoutMs: 20000, retryMinMs: 1000, retryMaxMs: 10000, alert: ["/usr/local/sbin/page"] });
  assert.is(policyConfig(r.config.fencing, "alpha").delayMs, 0, "the preferred node does not wait");
  assert.is(policyConfig(undefined, "alpha").action, "reboot", "Heartbeat resets by default");
});

t("bad fencing lines name their line", () => {
  const cases: [string, RegExp][] = [
    ["fencing", /fencing: no option/],
    ["fencing timeout=soon", /timeout='soon' is not a duration/],
    ["fencing action=explode", /action='explode' is not reboot or off/],
    ["fencing alert=page.sh", /alert='page.sh' is not an absolute path/],
    ["fencing retry=10s retry_max=1s", /retry is longer than retry_max/],
    ["fencing frob=1", /unknown option 'frob=1'/],
    ["fencing_delay bravo", /fencing_delay: NODE TIME/],
    ["fencing_delay bravo 1h", /not a duration up to 10min/],
    ["fencing_delay bravo 1s\nfencing_delay bravo 2s", /bravo already has a delay/],
  ];
  for (const [text, re] of cases) {
    const r = parseLubdubCf(text, "lubdub.cf", KEYS);
    const e = r.diagnostics.filter((d) => d.severity === "error");
    assert.is(e.length, 1, text);
    assert.match(e[0]!.message, re, text);
    assert.is(e[0]!.line, text.split("\n").length, text);
  }
});

t("device_watchdog: a time arms the device's watchdog with it, off never arms it, no line means ha.cf deadtime", () => {
  const cases: [string, number | null][] = [
    ["device_watchdog 10s", 10000],
    ["device_watchdog 1500ms", 1500],
    ["device_watchdog 2min", 120000],
    ["device_watchdog 5", 5000],
    ["device_watchdog 1s", 1000],
    ["device_watchdog 10min", 600000],
    ["device_watchdog off", null],
  ];
  for (const [text, ms] of cases) {
    const r = parseLubdubCf(`# the device\n${text}  # comment\n`, "lubdub.cf", KEYS);
    assert.equal(r.diagnostics, [], text);
    assert.equal(r.config.deviceWatchdog, { timeoutMs: ms, line: 2 }, text);
    assert.is(deviceWatchdogMs(r.config.deviceWatchdog, 30000), ms, text);
  }
  const none = parseLubdubCf("monitor * interval=10s\n", "lubdub.cf", KEYS);
  assert.is(none.config.deviceWatchdog, undefined);
  // Without the line: ha.cf deadtime, kept within the device's own bounds (1 s to 10 min).
  assert.is(deviceWatchdogMs(undefined, 30000), 30000);
  assert.is(deviceWatchdogMs(undefined, 500), DEVICE_WATCHDOG_MIN_MS);
  assert.is(deviceWatchdogMs(undefined, 3_600_000), DEVICE_WATCHDOG_MAX_MS);
});

t("bad device_watchdog lines name their line", () => {
  const cases: [string, RegExp][] = [
    ["device_watchdog", /device_watchdog: TIME or off/],
    ["device_watchdog 10s 20s", /device_watchdog: TIME or off/],
    ["device_watchdog off now", /device_watchdog: TIME or off/],
    ["device_watchdog soon", /'soon' is not a duration from 1s to 10min \(or off\)/],
    ["device_watchdog 999ms", /'999ms' is not a duration from 1s to 10min/],
    ["device_watchdog 0", /'0' is not a duration from 1s to 10min/],
    ["device_watchdog 11min", /'11min' is not a duration from 1s to 10min/],
    ["device_watchdog -5s", /'-5s' is not a duration/],
    ["device_watchdog 10s\ndevice_watchdog off", /device_watchdog: already set at line 1/],
  ];
  for (const [text, re] of cases) {
    const r = parseLubdubCf(text, "lubdub.cf", KEYS);
    const e = r.diagnostics.filter((d) => d.severity === "error");
    assert.is(e.length, 1, text);
    assert.match(e[0]!.message, re, text);
    assert.is(e[0]!.line, text.split("\n").length, text);
  }
  // The first line stays in force after a refused second one.
  assert.equal(parseLubdubCf("device_watchdog 10s\ndevice_watchdog off", "lubdub.cf", KEYS).config.deviceWatchdog, { timeoutMs: 10000, line: 1 });
});

t.run();
