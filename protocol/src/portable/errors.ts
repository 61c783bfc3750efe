// Why bytes failed to decode. Codes are stable identifiers that logs and the
// decoder's JSON carry; `detail` is for people.

export const E_EMPTY = "empty";
export const E_TOO_LARGE = "too-large";
export const E_NO_MARKER = "no-marker";
export const E_TRUNCATED = "truncated";
export const E_BAD_LENGTH = "bad-length";
export const E_MISSING_COMMA = "missing-comma";
export const E_BAD_TYPE = "bad-type";
export const E_BAD_NAME = "bad-name";
export const E_BAD_LINE = "bad-line";
export const E_BAD_BASE64 = "bad-base64";
export const E_BAD_NESTED = "bad-nested";
export const E_TOO_DEEP = "too-deep";
export const E_TOO_MANY_FIELDS = "too-many-fields";
export const E_BAD_VALUE = "bad-value";

export interface WireError {
  code: string;
  detail: string;
  /** Byte offset in the input where the problem was found. */
  offset: number;
}

export function wireError(code: string, detail: string, offset: number): WireError {
  return { code: code, detail: detail, offset: offset };
}
