"""An S7 PLC written only for the tests, for what no real PLC does on purpose. It accepts the
ISO-on-TCP connection and grants a PDU of 240 bytes, then answers every read job as --mode says:

  oversized   a TPKT header announcing a frame of 65535 bytes (then nothing)
  more-bytes  one item with 10 bytes more than asked
  silent      nothing at all
  not-s7      a PDU whose protocol id is 0x72 (S7comm-plus), not 0x32
  refuses     (before any job) the connection request answered with a COTP disconnect

Usage: hostile_s7_server.py --port N --mode MODE. Prints "ready PORT" once listening.
"""
import argparse
import asyncio
import struct


def tpkt(cotp_and_pdu):
    return struct.pack(">BBH", 3, 0, 4 + len(cotp_and_pdu)) + cotp_and_pdu


def data(pdu):
    return tpkt(bytes([0x02, 0xF0, 0x80]) + pdu)


def ack_data(pdu_ref, params, body, protocol_id=0x32):
    header = struct.pack(">BBHHHHBB", protocol_id, 0x03, 0, pdu_ref, len(params), len(body), 0, 0)
    return data(header + params + body)


async def frame(reader):
    head = await reader.readexactly(4)
    (length,) = struct.unpack(">H", head[2:4])
    return await reader.readexactly(length - 4)


async def serve(mode, reader, writer):
    try:
        await frame(reader)  # connection request
        if mode == "refuses":
            # Disconnect request: destination and source references, reason 0x81.
            writer.write(tpkt(bytes([6, 0x80, 0, 1, 0, 1, 0x81])))
            await writer.drain()
            return
        writer.write(tpkt(bytes([6, 0xD0, 0, 1, 0, 1, 0])))
        setup = await frame(reader)
        pdu_ref = struct.unpack(">H", setup[3 + 4 : 3 + 6])[0]
        writer.write(ack_data(pdu_ref, bytes([0xF0, 0, 0, 1, 0, 1, 0, 240]), b""))
        await writer.drain()
        while True:
            job = await frame(reader)
            pdu = job[3:]
            pdu_ref = struct.unpack(">H", pdu[4:6])[0]
            items = pdu[11]
            # The first item's count (bytes asked).
            (count,) = struct.unpack(">H", pdu[12 + 4 : 12 + 6])
            if mode == "oversized":
                writer.write(struct.pack(">BBH", 3, 0, 65535))
            elif mode == "more-bytes":
                body = b""
                for _ in range(items):
                    answered = count + 10
                    body += struct.pack(">BBH", 0xFF, 0x04, answered * 8) + bytes(answered)
                writer.write(ack_data(pdu_ref, bytes([0x04, items]), body))
            elif mode == "not-s7":
                writer.write(ack_data(pdu_ref, bytes([0x04, items]), b"", protocol_id=0x72))
            elif mode == "silent":
                pass
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, IndexError, struct.error):
        pass
    finally:
        writer.close()


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--mode", required=True, choices=["oversized", "more-bytes", "silent", "not-s7", "refuses"]
    )
    args = parser.parse_args()
    server = await asyncio.start_server(
        lambda r, w: serve(args.mode, r, w), "127.0.0.1", args.port
    )
    print(f"ready {args.port}", flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
