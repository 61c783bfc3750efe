// Limits of the Heartbeat 3.0.6 message library (cluster-glue 1.0.12), named so
// every bound in lubdub points back to one place.
//
// This file is part of the portable subset: it compiles for Node, for Espruino
// (through esbuild) and for Lua 5.1 (through typescript-to-lua).

/** Largest serialised message; the reference receiver reads at most MAXMSG - 1 bytes. */
export const MAX_MESSAGE_BYTES = 262144;
/** Deepest nesting of struct fields the classic format can express. */
export const MAX_NESTING_DEPTH = 16;
/** Node names are shorter than this (HOSTLENG). */
export const MAX_NODE_NAME_BYTES = 100;
/** Status words (`st=`) are shorter than this (STATUSLENG). */
export const MAX_STATUS_BYTES = 32;
/** Authentication method indices run from 0 to MAX_AUTH_INDEX. */
export const MAX_AUTH_INDEX = 15;
/** Longest authkeys line or key (MAXLINE). */
export const MAX_AUTHKEYS_LINE_BYTES = 5120;
/** Fields one message may carry; far above anything haresources mode sends. */
export const MAX_FIELDS = 512;
/** Digits a netstring length may have (262144 has six). */
export const MAX_LENGTH_DIGITS = 7;

/** Start and end markers of the two serialisations. */
export const NETSTRING_START = "###\n";
export const NETSTRING_END = "%%%\n";
export const CLASSIC_START = ">>>\n";
export const CLASSIC_END = "<<<\n";
export const MARKER_BYTES = 4;

/** Classic format stand-in for a newline inside a string value (0x13). */
export const CLASSIC_NEWLINE_SUBSTITUTE = 19;
