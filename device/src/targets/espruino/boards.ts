// Which pins drive the outlet relays, per board. A pin name with a leading
// "!" is active-low (most relay modules pull in on a low input). The stored
// setting `board.pins` ("B3,!B4") replaces the table's entry.
//
// Board names are process.env.BOARD prefixes (looked up in the Espruino board
// files: PICO_R1_3, ESPRUINOBOARD, ESPRUINOWIFI, LINUX); the pins were chosen
// off each board's default Serial1/Serial2 pins and the USB lines. Kept as
// strings (not object keys), so the build's property shortening leaves them.

const BOARD_PINS: string[] = [
  "PICO", "B3,B4,B5,B13",
  "ESPRUINOBOARD", "C6,C7,C8,C9",
  "ESPRUINOWIFI", "B3,B4,B5,B13",
];

/** The pin list for a board name; the Linux build's (which accepts digitalWrite and ignores it) when the board is not listed. */
export function boardPins(board: string): string {
  for (let i = 0; i < BOARD_PINS.length; i += 2) {
    if (board.startsWith(BOARD_PINS[i]!)) return BOARD_PINS[i + 1]!;
  }
  return "D1,D2,D3,D4";
}
