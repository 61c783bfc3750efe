// The failover benchmark's fast-starting service (--service c): the same
// HTTP answer as failover-service.ts (200, the node's name, connection
// close) from a few lines of C, compiled with the system's cc into the run's
// temporary directory. It starts in about a millisecond, where Node takes
// tens of milliseconds, so a run with it shows how long the agent itself
// takes from "peer dead" to "service answering". Its ready line has the
// same shape as the Node service's; `started` is the moment main() runs.

import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

const SOURCE = String.raw`#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static double now_ms(void) {
  struct timeval tv;
  gettimeofday(&tv, 0);
  return tv.tv_sec * 1000.0 + tv.tv_usec / 1000.0;
}

int main(int argc, char **argv) {
  double started = now_ms();
  if (argc != 4) { fprintf(stderr, "usage: failover-service ADDRESS PORT NODE\n"); return 64; }
  signal(SIGPIPE, SIG_IGN);
  int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)atoi(argv[2]));
  if (inet_pton(AF_INET, argv[1], &a.sin_addr) != 1) { fprintf(stderr, "failover-service: bad address\n"); return 64; }
  if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 128) < 0) { perror("failover-service"); return 1; }
  char resp[512];
  int n = snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nconnection: close\r\ncontent-length: %zu\r\n\r\n%s\n", strlen(argv[3]) + 1, argv[3]);
  printf("listening on %s:%s as %s started=%.1f ready=%.1f\n", argv[1], argv[2], argv[3], started, now_ms());
  fflush(stdout);
  for (;;) {
    int c = accept(s, 0, 0);
    if (c < 0) continue;
    struct timeval tmo = { 1, 0 };
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof tmo);
    char buf[4096];
    size_t got = 0;
    while (got < sizeof buf - 1) {
      ssize_t r = read(c, buf + got, sizeof buf - 1 - got);
      if (r <= 0) break;
      got += (size_t)r;
      buf[got] = 0;
      if (strstr(buf, "\r\n\r\n")) break;
    }
    if (write(c, resp, (size_t)n) < 0) { /* the client went away */ }
    close(c);
  }
}
`;

/** Compiles the service into `dir`; returns the binary's path, or throws with cc's complaint. */
export function buildCService(dir: string): string {
  const src = join(dir, "failover-service.c");
  const bin = join(dir, "failover-service");
  writeFileSync(src, SOURCE);
  const r = spawnSync("cc", ["-O2", "-o", bin, src], { encoding: "utf8", timeout: 60_000 });
  if (r.status !== 0) throw new Error(`cc could not build the C service: ${(r.stderr || r.error?.message || "").trim()}`);
  return bin;
}

/** Why --service c cannot run here, or null. */
export function cServiceMissing(): string | null {
  return spawnSync("sh", ["-c", "command -v cc"]).status === 0 ? null : "--service c needs a C compiler as 'cc' (Debian package gcc)";
}
