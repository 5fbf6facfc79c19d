"""A Modbus TCP server written only for the tests, for what no real server does on purpose: it
answers a read with fewer registers (or bits) than asked, well-formed (the byte count matches
what it sends). Register (and bit) k holds k (bits: 1). A read whose range reaches --short-from
or beyond is answered with the registers before --short-from only.

Usage: short_modbus_server.py --port N [--short-from ADDRESS]. Prints "ready PORT" once listening.
"""
import argparse
import asyncio
import struct


async def serve(short_from, reader, writer):
    try:
        while True:
            head = await reader.readexactly(7)
            transaction, protocol, length, unit = struct.unpack(">HHHB", head)
            pdu = await reader.readexactly(length - 1)
            function = pdu[0]
            if function in (1, 2, 3, 4) and len(pdu) == 5:
                start, count = struct.unpack(">HH", pdu[1:5])
                answered = max(0, min(start + count, short_from) - start)
                if function in (3, 4):
                    data = b"".join(struct.pack(">H", (start + i) & 0xFFFF) for i in range(answered))
                else:
                    data = bytes([0xFF] * ((answered + 7) // 8))
                    if answered % 8:
                        data = data[:-1] + bytes([(1 << (answered % 8)) - 1])
                body = bytes([function, len(data)]) + data
            else:
                body = bytes([function | 0x80, 1])  # illegal function
            writer.write(struct.pack(">HHHB", transaction, protocol, len(body) + 1, unit) + body)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--short-from", type=int, default=100)
    a = p.parse_args()
    server = await asyncio.start_server(lambda r, w: serve(a.short_from, r, w), "127.0.0.1", a.port)
    print(f"ready {a.port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
