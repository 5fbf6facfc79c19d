"""A Siemens S7 PLC for the south-s7 tests: python-snap7's server (pure Python since 3.0, an
independent implementation of S7comm), its memory filled through python-snap7's own setters, so
that the bytes the connector decodes were encoded by others.

Usage: s7_server.py --port N. Binds 127.0.0.1 only. Prints "ready" once listening.

DB1 (200 bytes), one value of every type:
  0.3 BOOL true, 0.4 BOOL false     1 BYTE 0xA5        2 WORD 65529       4 INT -7
  6 DWORD 4000000000                10 DINT -100000    14 REAL 12.34      18 LREAL -0.1
  26 LINT -9000000000000000000      34 ULINT 18446744073709551615        42 USINT 200
  43 SINT -100                      44 UINT 60000      46 UDINT 4000000001
  50 LWORD 81985529216486895        58 CHAR 'Z'        60 STRING[20] 'Hello, été'
  82 WSTRING[10] 'Grüße €'          106 TIME -2 days 3:04:05.678           110 DATE 2026-12-05
  112 TIME_OF_DAY 12:34:56.789      116 DATE_AND_TIME 2026-12-05 10:20:30.123
  124 DTL 2026-12-05 10:20:30.123456                                      136 S5TIME 150 s
  198 INT 4242 (the last word: reading 199.. or 200.. is out of range)
DB2 (5000 bytes): REAL i * 0.25 at byte 4 * i for i < 1000; WSTRING[1000] of 'ab…' (1000
  characters, 2004 bytes) at byte 4000: more than one answer of any PDU.
DB3 (16 bytes), values that are wrong: 0 DATE_AND_TIME with month 0x1A (not BCD), 8 STRING[4]
  claiming 9 characters, 14 INT 77 (fine).
M (64 bytes): M10.2 true, MW12 1234, MD20 REAL -2.5.     I (16 bytes): I0.1 true, IW2 321.
Q (16 bytes): Q0.0 true, QW4 INT -300.                    T (16 timers): T5 = S5TIME 12.3 s.
C (16 counters): C3 = 42.
No DB4: reading it is refused (object does not exist).
"""
import argparse
import time
from datetime import date, datetime, timedelta

from snap7.server import Server
from snap7.type import SrvArea
from snap7.util import (
    set_bool, set_byte, set_char, set_date, set_dint, set_dt, set_dtl, set_dword, set_int,
    set_lint, set_lreal, set_lword, set_real, set_sint, set_string, set_time, set_tod,
    set_udint, set_uint, set_ulint, set_usint, set_word, set_wstring,
)


def db1():
    b = bytearray(200)
    set_bool(b, 0, 3, True)
    set_bool(b, 0, 4, False)
    set_byte(b, 1, 0xA5)
    set_word(b, 2, 65529)
    set_int(b, 4, -7)
    set_dword(b, 6, 4000000000)
    set_dint(b, 10, -100000)
    set_real(b, 14, 12.34)
    set_lreal(b, 18, -0.1)
    set_lint(b, 26, -9000000000000000000)
    set_ulint(b, 34, 18446744073709551615)
    set_usint(b, 42, 200)
    set_sint(b, 43, -100)
    set_uint(b, 44, 60000)
    set_udint(b, 46, 4000000001)
    set_lword(b, 50, 0x0123456789ABCDEF)
    set_char(b, 58, "Z")
    set_string(b, 60, "Hello, été", 20)
    set_wstring(b, 82, "Grüße €", 10)
    set_time(b, 106, "-2:3:4:5.678")
    set_date(b, 110, date(2026, 12, 5))
    set_tod(b, 112, timedelta(hours=12, minutes=34, seconds=56, milliseconds=789))
    set_dt(b, 116, datetime(2026, 12, 5, 10, 20, 30, 123000))
    set_dtl(b, 124, datetime(2026, 12, 5, 10, 20, 30, 123456))
    # S5TIME (no setter in python-snap7): time base 1 s (bits 12-13 = 2), BCD 150.
    b[136:138] = bytes([0x21, 0x50])
    set_int(b, 198, 4242)
    return b


def db2():
    b = bytearray(5000)
    for i in range(1000):
        set_real(b, 4 * i, i * 0.25)
    set_wstring(b, 4000, "ab" * 500, 1000)
    return b


def db3():
    b = bytearray(16)
    b[0:8] = bytes([0x26, 0x1A, 0x05, 0x10, 0x20, 0x30, 0x12, 0x37])
    b[8:10] = bytes([4, 9])
    b[10:14] = b"abcd"
    set_int(b, 14, 77)
    return b


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args().port
    server = Server(log=False)
    areas = {
        (SrvArea.DB, 1): db1(),
        (SrvArea.DB, 2): db2(),
        (SrvArea.DB, 3): db3(),
        (SrvArea.MK, 0): bytearray(64),
        (SrvArea.PE, 0): bytearray(16),
        (SrvArea.PA, 0): bytearray(16),
        (SrvArea.TM, 0): bytearray(32),
        (SrvArea.CT, 0): bytearray(32),
    }
    mk, pe, pa = areas[(SrvArea.MK, 0)], areas[(SrvArea.PE, 0)], areas[(SrvArea.PA, 0)]
    set_bool(mk, 10, 2, True)
    set_word(mk, 12, 1234)
    set_real(mk, 20, -2.5)
    set_bool(pe, 0, 1, True)
    set_word(pe, 2, 321)
    set_bool(pa, 0, 0, True)
    set_int(pa, 4, -300)
    # Timer 5: time base 100 ms (1), BCD 123. Counter 3: BCD 042.
    areas[(SrvArea.TM, 0)][10:12] = bytes([0x11, 0x23])
    areas[(SrvArea.CT, 0)][6:8] = bytes([0x00, 0x42])
    for (area, index), data in areas.items():
        server.register_area(area, index, data)
    server.start_to("127.0.0.1", port)
    print("ready", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
