"""A Modbus TCP server (pymodbus, an independent implementation) with known register values, for
the south-modbus tests. Usage: modbus_server.py --port N. Prints "ready" once listening.

Holding registers (big-endian words unless said):
  0-1  float32  12.5
  2    int16    -7
  3-4  uint32   100000
  10-11 float32 -2.25 with the low word first (word order little)
  20   uint16   4242
  30-31 float32 NaN, 32-33 float32 +Inf (values that are not numbers)
  40-41 float32 12.34 (not exactly representable: read as 12.34, not 12.34000015258789)
  60   uint16   60; 63 is the last register (reading 63-64 is refused)
Input registers:
  0    uint16   321
Coils: 0 = on, 1 = off, 2 = on.   Discrete inputs: 0 = on.
"""
import argparse
import asyncio
import struct
import warnings

warnings.filterwarnings("ignore", category=DeprecationWarning)

from pymodbus.datastore import (
    ModbusDeviceContext,
    ModbusSequentialDataBlock,
    ModbusServerContext,
)
from pymodbus.server import StartAsyncTcpServer


def words(fmt, value):
    raw = struct.pack(">" + fmt, value)
    return [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args().port
    hr = [0] * 64
    hr[0:2] = words("f", 12.5)
    hr[2:3] = words("h", -7)
    hr[3:5] = words("I", 100000)
    low_first = words("f", -2.25)
    hr[10:12] = [low_first[1], low_first[0]]
    hr[20] = 4242
    hr[30:32] = words("f", float("nan"))
    hr[32:34] = words("f", float("inf"))
    hr[40:42] = words("f", 12.34)
    hr[60] = 60
    ir = [0] * 16
    ir[0] = 321
    co = [1, 0, 1] + [0] * 13
    di = [1] + [0] * 15
    # Block address 1 holds protocol address 0 (pymodbus's convention).
    device = ModbusDeviceContext(
        hr=ModbusSequentialDataBlock(1, hr),
        ir=ModbusSequentialDataBlock(1, ir),
        co=ModbusSequentialDataBlock(1, co),
        di=ModbusSequentialDataBlock(1, di),
    )
    context = ModbusServerContext(devices=device, single=True)

    async def run():
        asyncio.get_running_loop().call_later(0.5, lambda: print("ready", flush=True))
        await StartAsyncTcpServer(context=context, address=("127.0.0.1", port))

    asyncio.run(run())


if __name__ == "__main__":
    main()
