// npm run flash through the real espruino CLI against a fake board REPL on a
// local TCP port: the bundle lands in Storage as .bootcde byte for byte, the
// settings as lubdub.cfg, and the board is restarted into it.

import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { FakeEspruino } from "./fake-espruino.js";
import { cliArgs, DEFAULT_BUNDLE, flash, parseArgs, ROOT, settingsText } from "./flash.js";

function bundle(): string {
  if (!existsSync(DEFAULT_BUNDLE)) {
    const r = spawnSync(process.execPath, [join(ROOT, "device", "scripts", "build-espruino.mjs")], { cwd: ROOT, encoding: "utf8" });
    assert.is(r.status, 0, r.stderr);
  }
  return readFileSync(DEFAULT_BUNDLE, "latin1");
}

async function upload(extra: string[]): Promise<{ fake: FakeEspruino; code: number; log: string[] }> {
  const fake = new FakeEspruino();
  const port = await fake.listen();
  const log: string[] = [];
  try {
    const code = await flash(parseArgs(["--port", `tcp://127.0.0.1:${port}`].concat(extra)), (l) => log.push(l));
    return { fake: fake, code: code, log: log };
  } finally {
    await fake.close();
  }
}

test("arguments: port required, boards by name, settings as key=value", () => {
  assert.throws(() => parseArgs([]), /--port is required/);
  assert.throws(() => parseArgs(["--port", "/dev/ttyACM0", "--board", "ARDUINO"]), /unknown board/);
  assert.throws(() => parseArgs(["--port", "/dev/ttyACM0", "--set", "novalue"]), /key=value/);
  assert.throws(() => parseArgs(["--port", "/dev/ttyACM0", "-m"]), /unknown argument -m/);
  const o = parseArgs(["--port", "/dev/ttyACM0", "--board", "pico", "--set", "a.baud=115200", "--set", "key.secret=s3 cret"]);
  assert.is(settingsText(o), "board.pins=B3,B4,B5,B13\na.baud=115200\nkey.secret=s3 cret\n");
  assert.is(settingsText(parseArgs(["--port", "tcp://h:1"])), null);
});

test("the CLI is run without Bluetooth, without its minifier, saving to Storage", () => {
  const args = cliArgs(parseArgs(["--port", "tcp://127.0.0.1:9", "--baud", "9600"]), null);
  assert.ok(args.includes("--no-ble"));
  assert.not.ok(args.includes("-m") || args.includes("--minify"));
  assert.ok(args.includes("SAVE_ON_SEND=1"));
  assert.equal(args.slice(args.indexOf("-b"), args.indexOf("-b") + 2), ["-b", "9600"]);
  assert.is(args[args.length - 1], DEFAULT_BUNDLE);
});

test("upload with settings: .bootcde is the bundle, lubdub.cfg the settings, then load()", async () => {
  const code = bundle();
  const r = await upload(["--board", "original", "--set", "a.baud=115200", "--set", "a.path=/dev/ttyS1"]);
  assert.is(r.code, 0, r.log.join("\n"));
  assert.is(r.fake.storage[".bootcde"], code, "the stored boot code is the bundle, unchanged");
  assert.is(r.fake.storage["lubdub.cfg"], "board.pins=C6,C7,C8,C9\na.baud=115200\na.path=/dev/ttyS1\n");
  const lines = r.fake.lines;
  const probe = lines.findIndex((l) => l.indexOf("JSON.stringify(process.env)") >= 0);
  const reset = lines.indexOf("reset();");
  const load = lines.indexOf("load()");
  const lastWrite = lines.map((l, i) => (l.startsWith('require("Storage").write(') ? i : -1)).reduce((a, b) => Math.max(a, b), -1);
  assert.ok(probe >= 0 && reset > probe && lastWrite > reset && load > lastWrite, lines.filter((l) => !l.startsWith("require")).join(" | "));
  // settings are written before the code, so the code starts with them
  assert.is(r.fake.writes[0]!.name, "lubdub.cfg");
  // nothing but Storage writes and the CLI's own commands ran on the board
  for (const l of lines) assert.ok(l === "" || l.startsWith('require("Storage").write(') || ["reset();", "print()", "load()"].includes(l) || l === lines[probe], l);
});

test("upload without settings leaves lubdub.cfg alone", async () => {
  const r = await upload([]);
  assert.is(r.code, 0, r.log.join("\n"));
  assert.is(r.fake.storage[".bootcde"], bundle());
  assert.is(r.fake.storage["lubdub.cfg"], undefined);
});

test.run();
