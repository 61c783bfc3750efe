// Builders: typed body + header → Message, with fields in the order a stock
// node emits them, so a lubdub node's datagrams look like a Heartbeat node's
// (and retransmissions and re-encodings are byte-identical).

import { Message, newMessage, setBinary, setString } from "../portable/message.js";
import { formatDecimal, formatHex } from "../portable/numbers.js";
import { Body, Header, isNonSequenced } from "./types.js";

/** The message-specific fields, in stock order (no header, no auth). */
export function encodeBody(body: Body): Message {
  const m = newMessage();
  const s = (name: string, value: string) => setString(m, name, value);
  switch (body.t) {
    case "status":
      s("t", body.t);
      s("st", body.st);
      s("dt", formatHex(body.dt));
      if (body.protocol !== null) s("protocol", formatDecimal(body.protocol));
      break;
    case "reqnodes":
      s("t", body.t);
      s("dest", body.dest);
      break;
    case "repnodes":
      // Stock heartbeat adds dest before t in this one message.
      s("dest", body.dest);
      s("t", body.t);
      s("nodelist", body.nodes.map((n) => n + " ").join(""));
      // Captured: an empty delete list goes out as a single space, not as "".
      s("delnodelist", body.deleted.length ? body.deleted.map((n) => n + " ").join("") : " ");
      break;
    case "NS_ackmsg":
      s("t", body.t);
      s("dest", body.dest);
      s("ackseq", formatHex(body.ackseq));
      break;
    case "NS_rexmit":
      // The one request that writes sequence numbers in decimal.
      s("t", body.t);
      s("dest", body.dest);
      s("firstseq", formatDecimal(body.firstseq));
      s("lastseq", formatDecimal(body.lastseq));
      break;
    case "NS_nak_rexmit":
      s("t", body.t);
      s("firstseq", formatHex(body.firstseq));
      s("dest", body.dest);
      s("info", body.info);
      break;
    case "starting":
      s("t", body.t);
      break;
    case "resource":
      s("t", body.t);
      s("rsc_hold", body.rscHold);
      if (body.full) {
        s("rtype", "full");
        s("isstable", body.full.isStable ? "1" : "0");
      }
      if (body.info !== null) s("info", body.info);
      break;
    case "ask_resources":
      s("t", body.t);
      s("rsc_hold", body.rscHold);
      s("info", body.phase);
      break;
    case "hb_takeover":
      s("t", body.t);
      s("rsc_hold", body.rscHold);
      break;
    case "ip-request":
      s("t", body.t);
      s("ipaddr", body.ipaddr);
      break;
    case "ip-request-resp":
      s("t", body.t);
      s("dest", body.dest);
      s("ipaddr", body.ipaddr);
      s("weown", body.weown ? "yes" : "no");
      s("ok", body.ok);
      break;
    case "stonith":
      s("t", body.t);
      s("node", body.node);
      s("result", body.result);
      break;
    case "shutdone":
      s("t", body.t);
      s("st", "dead");
      break;
    case "lubdub-haresources":
      s("t", body.t);
      s("digest", body.digest);
      s("groups", String(body.groups));
      break;
    case "lubdub-ping":
      s("t", body.t);
      s("count", String(body.count));
      s("total", String(body.total));
      break;
  }
  return m;
}

/**
 * Adds the common fields after the message's own, as the sending master
 * process does: destuuid (when known), then src, srcuuid, seq, hg, ts, ld,
 * ttl. NS_ messages carry no seq and no ld. Fields already present keep
 * their position and get the new value.
 */
export function stampHeader(msg: Message, header: Header): Message {
  const out: Message = { fields: msg.fields.slice() };
  const type = out.fields.find((f) => f.name === "t");
  const ns = type !== undefined && type.type === 0 && isNonSequenced(type.value);
  if (header.destuuid !== null) setBinary(out, "destuuid", header.destuuid);
  setString(out, "src", header.src);
  if (header.srcuuid !== null) setBinary(out, "srcuuid", header.srcuuid);
  if (!ns && header.seq !== null) setString(out, "seq", formatHex(header.seq));
  setString(out, "hg", formatHex(header.hg));
  setString(out, "ts", formatHex(header.ts));
  if (!ns && header.ld !== null) setString(out, "ld", header.ld);
  if (header.ttl !== null) setString(out, "ttl", formatDecimal(header.ttl));
  return out;
}

/** Body and header to the unsigned message (sign it with signDatagram or signClassic). */
export function buildMessage(body: Body, header: Header): Message {
  return stampHeader(encodeBody(body), header);
}
