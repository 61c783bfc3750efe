// An authentication method, as Heartbeat's HBauth plugins are: a name as
// written in authkeys, whether it takes a key, and a digest over bytes.
// A new method is one new file exporting an AuthMethod, added to methods.ts.

export interface AuthMethod {
  /** The word in authkeys: `N <name> [key]`. */
  readonly name: string;
  /** Keyed methods require a key in authkeys; unkeyed ones refuse one. */
  readonly keyed: boolean;
  /** Lower-case hex digest of `data` (a byte string) under `key` (a byte string; "" when unkeyed). */
  digest(key: string, data: string): string;
}
