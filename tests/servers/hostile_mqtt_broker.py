"""A hostile MQTT 3.1.1 broker, written only for the tests (no real broker forwards such topics):
after a client's first SUBSCRIBE it sends QoS 1 messages on the topics of --topics, some of them
not valid UTF-8 or holding U+0000, as a broken bridge or device firmware might. Like a real
broker with a persistent session, it sends every unacknowledged message again (DUP) after each
new connection. Prints "ready PORT" once listening; writes what happened as JSON to --report
after every event: {"connections": N, "acked": [packet ids], "sent": N}.

Usage: hostile_mqtt_broker.py --port N --report FILE
       --message HEX_TOPIC:PAYLOAD [--message ...]      (in the order sent, packet ids 1, 2, ...)
"""
import argparse
import asyncio
import json
import struct


class State:
    def __init__(self, messages, report):
        self.messages = messages  # [(packet id, topic bytes, payload bytes)]
        self.unacked = {pid for pid, _, _ in messages}
        self.acked = []
        self.connections = 0
        self.sent = 0
        self.subscribed = False
        self.report = report

    def write(self):
        with open(self.report + ".tmp", "w") as f:
            json.dump({"connections": self.connections, "acked": self.acked, "sent": self.sent}, f)
        import os

        os.replace(self.report + ".tmp", self.report)


def packet(kind, body):
    out = bytearray([kind])
    n = len(body)
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | 0x80 if n else b)
        if not n:
            break
    return bytes(out) + body


def publish(pid, topic, payload, dup):
    body = struct.pack(">H", len(topic)) + topic + struct.pack(">H", pid) + payload
    return packet(0x32 | (0x08 if dup else 0), body)


async def read_packet(reader):
    first = await reader.readexactly(1)
    n, shift = 0, 0
    while True:
        b = (await reader.readexactly(1))[0]
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            break
    return first[0], await reader.readexactly(n)


async def serve(state, reader, writer):
    state.connections += 1
    state.write()
    try:
        kind, _ = await read_packet(reader)
        if kind >> 4 != 1:  # CONNECT
            return
        writer.write(packet(0x20, b"\x00\x00"))
        # A persistent session: what was sent and not acknowledged is sent again at once.
        for pid, topic, payload in state.messages:
            if state.subscribed and pid in state.unacked:
                writer.write(publish(pid, topic, payload, True))
                state.sent += 1
        await writer.drain()
        while True:
            kind, body = await read_packet(reader)
            t = kind >> 4
            if t == 8:  # SUBSCRIBE: grant QoS 1 to each filter
                pid = body[:2]
                filters, rest = 0, body[2:]
                while rest:
                    (n,) = struct.unpack(">H", rest[:2])
                    rest = rest[2 + n + 1 :]
                    filters += 1
                writer.write(packet(0x90, pid + b"\x01" * filters))
                if not state.subscribed:
                    state.subscribed = True
                    for pid, topic, payload in state.messages:
                        writer.write(publish(pid, topic, payload, False))
                        state.sent += 1
            elif t == 4:  # PUBACK
                (pid,) = struct.unpack(">H", body[:2])
                state.acked.append(pid)
                state.unacked.discard(pid)
            elif t == 12:  # PINGREQ
                writer.write(packet(0xD0, b""))
            elif t == 14:  # DISCONNECT
                return
            state.write()
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        state.write()
        writer.close()


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--report", required=True)
    p.add_argument("--message", action="append", default=[])
    a = p.parse_args()
    messages = []
    for i, m in enumerate(a.message, start=1):
        topic, payload = m.split(":", 1)
        messages.append((i, bytes.fromhex(topic), payload.encode()))
    state = State(messages, a.report)
    state.write()
    server = await asyncio.start_server(lambda r, w: serve(state, r, w), "127.0.0.1", a.port)
    print(f"ready {a.port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
