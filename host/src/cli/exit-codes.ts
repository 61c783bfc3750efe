// Exit codes of the lubdub command. 0-2 carry each command's own meaning
// (decode: 0 all verified, 1 a verification failed, 2 a message malformed);
// the sysexits values below are shared by every command.

export const EXIT_USAGE = 64; // bad arguments
export const EXIT_DATAERR = 65; // an input file (authkeys, ha.cf) is invalid
export const EXIT_NOINPUT = 66; // an input file cannot be read
