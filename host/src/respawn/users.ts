// Who a respawn client runs as: uid, primary gid and supplementary groups of
// a user name, as the system's name service knows them (getent and id, so
// LDAP or other NSS sources count), falling back to /etc/passwd and
// /etc/group when those tools are missing. Heartbeat does getpwnam() and
// initgroups() for the same.

import { execFile, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

export interface UserIds {
  name: string;
  uid: number;
  gid: number;
  /** Every group the user is in, the primary one included. */
  groups: number[];
}

export type UserLookup = (name: string) => UserIds | null;
/** The same without blocking the event loop (a name service may take seconds to answer). */
export type AsyncUserLookup = (name: string) => Promise<UserIds | null> | UserIds | null;

/** A name service lookup that hangs (a dead LDAP server) is given up after this. */
const LOOKUP_TIMEOUT_MS = 5000;

/** Parses one passwd(5) line. */
export function parsePasswdLine(line: string): { name: string; uid: number; gid: number } | null {
  const f = line.trim().split(":");
  if (f.length < 7 || !/^[0-9]+$/.test(f[2]!) || !/^[0-9]+$/.test(f[3]!)) return null;
  return { name: f[0]!, uid: Number(f[2]), gid: Number(f[3]) };
}

/** The groups of `user` from group(5) text: `gid` plus every group listing the user as a member. */
export function groupsFromGroupFile(text: string, user: string, gid: number): number[] {
  const out = new Set<number>([gid]);
  for (const line of text.split("\n")) {
    const f = line.trim().split(":");
    if (f.length < 4 || !/^[0-9]+$/.test(f[2]!)) continue;
    if (f[3]!.split(",").includes(user)) out.add(Number(f[2]));
  }
  return [...out];
}

type Ran = { ok: boolean; missing: boolean; out: string };

function run(cmd: string, args: string[]): Ran {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: LOOKUP_TIMEOUT_MS });
  if (r.error) return { ok: false, missing: (r.error as NodeJS.ErrnoException).code === "ENOENT", out: "" };
  return { ok: r.status === 0, missing: false, out: r.stdout };
}

function runAsync(cmd: string, args: string[]): Promise<Ran> {
  return new Promise((done) => {
    execFile(cmd, args, { encoding: "utf8", timeout: LOOKUP_TIMEOUT_MS }, (e, stdout) => {
      if (e) done({ ok: false, missing: (e as NodeJS.ErrnoException).code === "ENOENT", out: "" });
      else done({ ok: true, missing: false, out: stdout });
    });
  });
}

function fromFiles(name: string): UserIds | null {
  let passwd = "";
  let group = "";
  try {
    passwd = readFileSync("/etc/passwd", "utf8");
    group = readFileSync("/etc/group", "utf8");
  } catch {
    return null;
  }
  for (const line of passwd.split("\n")) {
    const p = parsePasswdLine(line);
    if (p && p.name === name) return { ...p, groups: groupsFromGroupFile(group, name, p.gid) };
  }
  return null;
}

/** A name that getent or id could take for an option never reaches them. */
function plausible(name: string): boolean {
  return name.length > 0 && !name.startsWith("-");
}

/** The system's view of user `name`, or null when there is no such user. */
export const lookupUser: UserLookup = (name) => {
  if (!plausible(name)) return null;
  const pw = run("getent", ["passwd", name]);
  if (pw.missing) return fromFiles(name);
  return fromOutputs(pw, () => run("id", ["-G", name]));
};

/** lookupUser without blocking: for the running agent. */
export const lookupUserAsync = async (name: string): Promise<UserIds | null> => {
  if (!plausible(name)) return null;
  const pw = await runAsync("getent", ["passwd", name]);
  if (pw.missing) return fromFiles(name);
  if (!pw.ok) return null;
  const id = await runAsync("id", ["-G", name]);
  return fromOutputs(pw, () => id);
};

function fromOutputs(pw: Ran, groupsOf: () => Ran): UserIds | null {
  if (!pw.ok) return null;
  const p = parsePasswdLine(pw.out.split("\n")[0] ?? "");
  if (!p) return null;
  const id = groupsOf();
  let groups: number[];
  if (id.ok && /^[0-9 ]+$/.test(id.out.trim())) {
    groups = [...new Set([p.gid, ...id.out.trim().split(/\s+/).map(Number)])];
  } else {
    let text = "";
    try {
      text = readFileSync("/etc/group", "utf8");
    } catch {
      /* primary group only */
    }
    groups = groupsFromGroupFile(text, p.name, p.gid);
  }
  return { name: p.name, uid: p.uid, gid: p.gid, groups };
}
