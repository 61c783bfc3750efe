// Device messages as the firmware reads and writes them: the classic lines
// themselves. Every field of a device message is an untyped string (protocol
// device.ts), and such a line renders as itself, so the lines are both the
// message and what its auth digest covers (renderClassicLines) — no decoder,
// no encoder, no base64 in the firmware. The host side uses the protocol's
// full codec on the same bytes; the unit tests' agent checks one against the
// other.
//
// Portable subset: compiled for Espruino and Lua 5.1 too.

import { CLASSIC_END, CLASSIC_START, DF_AUTH, DF_DEST, DF_SRC, DF_TYPE, DEVICE_NODE, type DeviceKey, type HmacFn, checkDeviceAuth, deviceAuthValue } from "@lubdub/protocol/portable";

/**
 * The `name=value` lines of a classic frame (">>>\n" lines "<<<\n", as the
 * deframer passes them on), or null when a line is typed (`(D)name=`) or has
 * no name: then it is not a device message.
 */
export function plainLines(frame: string): string[] | null {
  const lines = frame.split("\n");
  // lines: ">>>", the fields, "<<<", "" (a netstring frame is never a device message)
  if (lines[0] !== ">>>") return null;
  const fields = lines.slice(1, lines.length - 2);
  return fields.some((l) => l.indexOf("=") <= 0 || l.charCodeAt(0) === 40) ? null : fields;
}

/** The value of the first field called `name`, or null (Heartbeat reads the first). */
export function field(lines: string[], name: string): string | null {
  const head = name + "=";
  for (const l of lines) if (l.startsWith(head)) return l.substring(head.length);
  return null;
}

/** "" when the message is signed with `key`, else the protocol's ERR_ code. */
export function checkAuth(lines: string[], key: DeviceKey, hmac: HmacFn): string {
  let covered = "";
  for (const l of lines) if (!l.startsWith(DF_AUTH + "=")) covered += l + "\n";
  return checkDeviceAuth(field(lines, DF_AUTH), covered, key, hmac);
}

/** A device message being written: its lines so far, "name=value\n" each. */
export type Draft = string;

/** A message of type `t` from the device to `dest`. */
export function draft(t: string, dest: string): Draft {
  return DF_TYPE + "=" + t + "\n" + DF_SRC + "=" + DEVICE_NODE + "\n" + DF_DEST + "=" + dest + "\n";
}

/** One more field (values are single-line text: settings, or fields read from a request). */
export function add(msg: Draft, name: string, value: string): Draft {
  return msg + name + "=" + value + "\n";
}

/** The classic frame, signed when there is a key. */
export function frameOf(msg: Draft, key: DeviceKey | null, hmac: HmacFn): string {
  const auth = key ? deviceAuthValue(msg, key, hmac) : null;
  return CLASSIC_START + (auth ? add(msg, DF_AUTH, auth) : msg) + CLASSIC_END;
}
