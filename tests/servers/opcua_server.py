"""An OPC UA server (Python asyncua, an independent implementation) with a known address space,
for the OPC UA tests. Prints "ready PORT" once listening.

Usage: opcua_server.py --port N [--pki DIR] [--user NAME:PASSWORD]... [--no-anonymous]
                       [--history N] [--page N] [--many N] [--trust-clients DIR]
                       [--changing N] [--synthetic-history N] [--max-message-size N]
                       [--late-history MS] [--cert-names uri,dns:NAME,ip:ADDRESS]

Namespace "urn:oibus:test:plant" (index 2), under Objects/Plant:
  Plant.Bool True, Plant.SByte -5, Plant.Byte 5, Plant.Int16 -16, Plant.UInt16 16,
  Plant.Int32 -32, Plant.UInt32 32, Plant.Int64 -64, Plant.UInt64 64, Plant.Float 1.5,
  Plant.Double 2.5, Plant.String "hello", Plant.DateTime 2024-05-01T12:00:00Z,
  Plant.DoubleArray [1.0, 2.0, 3.0], Plant.Int32Array [1, 2, 3]     (static, writable)
  Plant.Text       a LocalizedText (not a measurement: refused per item)
  Plant.Temperature  20 + sin(k / 10), changing every 100 ms, historized
  i=1001 "Counter"   k, changing every 100 ms
  Plant.Square     0.0 and 10.0 in turn, every 100 ms (for deadbands: asyncua compares a
                   sample with the previous sample, not with the last value it reported)
  g=72962b91-fa75-4ae6-8d28-b404dc7daf63 "GuidNode" 1.0;  b=AQKr "OpaqueNode" "opaque"
  Plant.MostPipelined  the most requests a client had sent ahead of the one being processed
  Plant.ChannelRenewals  how many secure channels clients renewed so far (updated every 100 ms)
  Plant.History    historized; --history N values 0.0, 1.0, ... one a second up to now
  Plant.Many.0 .. Plant.Many.<N-1>  Doubles equal to their index (--many N), writable
  Plant.Changing.0 .. <N-1>  Doubles all written a new value (the round's number) every 100 ms,
                   or as fast as the server can (--changing N); Plant.ChangingCycles the rounds
  Plant.Synthetic.0 .. <N-1>  historized: a value every second, the second of the day, for any
                   range a client asks (--synthetic-history N; made as read, nothing stored)
  Plant.Late       historized, as a historian that lags does it (--late-history MS): 0.0, 1.0,
                   2.0, ... one every 100 ms stamped at whole tenths of a second, each stored MS
                   milliseconds after the instant it carries

--pki DIR: the server's certificate and key are DIR/server_cert.der and DIR/server_key.pem
(made on the first start), and Basic256Sha256, Aes128_Sha256_RsaOaep and Aes256_Sha256_RsaPss,
each in Sign and SignAndEncrypt, are offered beside None.
--trust-clients DIR: a client's certificate must be one of DIR/*.der (else refused with
BadCertificateUntrusted and saved in DIR/rejected), and valid: its application URI, key usages.
--max-message-size N: a request over N bytes is refused (BadRequestTooLarge), as servers with
small buffers do (asyncua's own limit is 100 MB).
--refuse-pages-over N: a history read asking more than N values (or no limit) is refused with
BadResponseTooLarge, as servers whose answer would be over their message size do.
--page N: a history read returns at most N values and a continuation point for the rest (asyncua
only pages at its own response-size cap: this store pages at the client's NumValuesPerNode).
"""
import argparse
import asyncio
import ipaddress
import math
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from asyncua import Server, ua
from asyncua.crypto.cert_gen import (
    dump_private_key_as_pem,
    generate_private_key,
    generate_self_signed_app_certificate,
)
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.crypto.validator import CertificateValidator, CertificateValidatorOptions
from asyncua.common.utils import ServiceError
from asyncua.server.history import HistoryDict
from asyncua.common.connection import SecureConnection
from asyncua.server.binary_server_asyncio import OPCUAProtocol
from asyncua.server.user_managers import UserManager
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

APP_URI = "urn:oibus:test:opcua-server"
VT = ua.VariantType


class Users(UserManager):
    """Names and passwords from --user; anonymous unless --no-anonymous; any X.509 token."""

    def __init__(self, users, anonymous):
        self.users = users
        self.anonymous = anonymous

    def get_user(self, iserver, username=None, password=None, certificate=None):
        if username is not None:
            ok = self.users.get(username) == password
            return User(role=UserRole.User, name=username) if ok else None
        if certificate is not None or self.anonymous:
            return User(role=UserRole.User)
        return None


class PagingHistory(HistoryDict):
    """Pages a read at the client's NumValuesPerNode (capped at --page), with a continuation
    point, as the specification describes; stamps values written without a source timestamp."""

    def __init__(self, page, refuse_over=0):
        super().__init__(max_history_data_response_size=page)
        self.page = page
        self.refuse_over = refuse_over
        self.synthetic = set()

    async def read_node_history(self, node_id, start, end, nb_values):
        if self.refuse_over and (nb_values == 0 or nb_values > self.refuse_over):
            raise ServiceError(ua.StatusCodes.BadResponseTooLarge)
        if node_id in self.synthetic:
            return await self.read_synthetic(start, end, nb_values)
        saved = self.max_history_data_response_size
        self.max_history_data_response_size = min(self.page, nb_values or self.page)
        try:
            return await super().read_node_history(node_id, start, end, 0)
        finally:
            self.max_history_data_response_size = saved

    async def read_synthetic(self, start, end, nb_values):
        """A value every whole second of [start, end], equal to the second of the day, made as
        the client reads (no store: a day of 100 nodes would not fit in memory)."""
        limit = min(self.page, nb_values or self.page)
        second = math.ceil(start.timestamp())
        last = math.floor(end.timestamp())
        results = []
        while second <= last and len(results) < limit:
            at = datetime.fromtimestamp(second, timezone.utc)
            results.append(
                ua.DataValue(
                    ua.Variant(float(second % 86400), VT.Double),
                    SourceTimestamp=at,
                    ServerTimestamp=at,
                )
            )
            second += 1
        more = datetime.fromtimestamp(second, timezone.utc) if second <= last else None
        return results, more

    async def save_node_value(self, node_id, datavalue):
        if datavalue.SourceTimestamp is None:
            datavalue.SourceTimestamp = datavalue.ServerTimestamp or datetime.now(timezone.utc)
        return await super().save_node_value(node_id, datavalue)


RENEWALS = 0
_open = SecureConnection.open


def _counting_open(self, params, server):
    """SecureConnection.open, counting the secure channels renewed (OpenSecureChannel Renew)."""
    global RENEWALS
    if params.RequestType == ua.SecurityTokenRequestType.Renew:
        RENEWALS += 1
    return _open(self, params, server)


SecureConnection.open = _counting_open

PIPELINED = 0
_one_msg = OPCUAProtocol._process_one_msg


async def _counting_one_msg(self, header, buf):
    """OPCUAProtocol._process_one_msg, noting the most messages a client had sent beyond the one
    being processed (requests it sent without waiting for their answers)."""
    global PIPELINED
    PIPELINED = max(PIPELINED, self.messages.qsize())
    return await _one_msg(self, header, buf)


OPCUAProtocol._process_one_msg = _counting_one_msg


class ClientTrustList:
    """Accepts a client certificate only if it is valid (time range, application URI in its
    subject alternative names, key usages) and its DER file is in DIR (read at each session, so
    that an operator can add one while the server runs); a refused one is saved in DIR/rejected."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.basic = CertificateValidator(
            CertificateValidatorOptions.EXT_VALIDATION | CertificateValidatorOptions.PEER_CLIENT
        )

    async def __call__(self, cert, app_description):
        await self.basic(cert, app_description)
        der = cert.public_bytes(Encoding.DER)
        self.folder.mkdir(parents=True, exist_ok=True)
        if any(f.read_bytes() == der for f in self.folder.glob("*.der")):
            return
        rejected = self.folder / "rejected"
        rejected.mkdir(exist_ok=True)
        (rejected / f"{cert.fingerprint(hashes.SHA1()).hex()}.der").write_bytes(der)
        raise ServiceError(ua.StatusCodes.BadCertificateUntrusted)


def alternative_names(spec):
    """--cert-names: `uri`, `dns:NAME` and `ip:ADDRESS`, comma-separated, in that order in the
    certificate (default: uri,dns:localhost,ip:127.0.0.1; open62541 and others put the URI last)."""
    names = []
    for part in spec.split(","):
        kind, _, value = part.partition(":")
        if kind == "uri":
            names.append(x509.UniformResourceIdentifier(APP_URI))
        elif kind == "dns":
            names.append(x509.DNSName(value))
        elif kind == "ip":
            names.append(x509.IPAddress(ipaddress.ip_address(value)))
        else:
            raise SystemExit(f"--cert-names: {part!r} is not uri, dns:NAME or ip:ADDRESS")
    return names


def certificate(pki: Path, names="uri,dns:localhost,ip:127.0.0.1"):
    """The server's certificate and key, made on the first start, with the alternative names of
    --cert-names."""
    pki.mkdir(parents=True, exist_ok=True)
    cert, key = pki / "server_cert.der", pki / "server_key.pem"
    if not cert.exists():
        private = generate_private_key()
        made = generate_self_signed_app_certificate(
            private,
            "oibus test OPC UA server",
            {"organizationName": "oibus-rs tests"},
            alternative_names(names),
            extended=[ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
            days=365,
        )
        key.write_bytes(dump_private_key_as_pem(private))
        cert.write_bytes(made.public_bytes(Encoding.DER))
    return cert, key


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pki")
    p.add_argument("--user", action="append", default=[])
    p.add_argument("--no-anonymous", action="store_true")
    p.add_argument("--history", type=int, default=0)
    p.add_argument("--page", type=int, default=10000)
    p.add_argument("--refuse-pages-over", type=int, default=0)
    p.add_argument("--max-message-size", type=int, default=0)
    p.add_argument("--many", type=int, default=0)
    p.add_argument("--trust-clients")
    p.add_argument("--changing", type=int, default=0)
    p.add_argument("--synthetic-history", type=int, default=0)
    p.add_argument("--late-history", type=int, default=-1)
    p.add_argument("--cert-names", default="uri,dns:localhost,ip:127.0.0.1")
    a = p.parse_args()

    users = dict(u.split(":", 1) for u in a.user)
    server = Server(user_manager=Users(users, not a.no_anonymous))
    server.iserver.history_manager.set_storage(PagingHistory(a.page, a.refuse_pages_over))
    await server.init()
    if a.max_message_size:
        server.limits.max_message_size = a.max_message_size
        server.limits.max_chunk_count = math.ceil(a.max_message_size / server.limits.max_recv_buffer)
    server.set_endpoint(f"opc.tcp://127.0.0.1:{a.port}/oibus-test")
    server.set_server_name("oibus test OPC UA server")
    await server.set_application_uri(APP_URI)
    policies = [ua.SecurityPolicyType.NoSecurity]
    if a.pki:
        cert, key = certificate(Path(a.pki), a.cert_names)
        await server.load_certificate(str(cert))
        await server.load_private_key(str(key))
        policies += [
            getattr(ua.SecurityPolicyType, f"{policy}_{mode}")
            for policy in ("Basic256Sha256", "Aes128Sha256RsaOaep", "Aes256Sha256RsaPss")
            for mode in ("Sign", "SignAndEncrypt")
        ]
    server.set_security_policy(policies)
    if a.trust_clients:
        server.set_certificate_validator(ClientTrustList(Path(a.trust_clients)))
    tokens = [ua.UserNameIdentityToken, ua.X509IdentityToken]
    if not a.no_anonymous:
        tokens.insert(0, ua.AnonymousIdentityToken)
    server.set_identity_tokens(tokens)

    ns = await server.register_namespace("urn:oibus:test:plant")
    plant = await server.nodes.objects.add_folder(ua.NodeId("Plant", ns), "Plant")
    statics = [
        ("Bool", True, VT.Boolean),
        ("SByte", -5, VT.SByte),
        ("Byte", 5, VT.Byte),
        ("Int16", -16, VT.Int16),
        ("UInt16", 16, VT.UInt16),
        ("Int32", -32, VT.Int32),
        ("UInt32", 32, VT.UInt32),
        ("Int64", -64, VT.Int64),
        ("UInt64", 64, VT.UInt64),
        ("Float", 1.5, VT.Float),
        ("Double", 2.5, VT.Double),
        ("String", "hello", VT.String),
        ("DateTime", datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc), VT.DateTime),
        ("DoubleArray", [1.0, 2.0, 3.0], VT.Double),
        ("Int32Array", [1, 2, 3], VT.Int32),
        ("Text", ua.LocalizedText("text", "en"), VT.LocalizedText),
    ]
    for name, value, vt in statics:
        node = await plant.add_variable(ua.NodeId(f"Plant.{name}", ns), name, value, vt)
        if isinstance(value, list):
            await node.write_value_rank(1)
            await node.write_array_dimensions([0])
        await node.set_writable()
    temperature = await plant.add_variable(
        ua.NodeId("Plant.Temperature", ns), "Temperature", 20.0, VT.Double
    )
    counter = await plant.add_variable(ua.NodeId(1001, ns), "Counter", 0, VT.Int32)
    square = await plant.add_variable(ua.NodeId("Plant.Square", ns), "Square", 0.0, VT.Double)
    await plant.add_variable(
        ua.NodeId(uuid.UUID("72962b91-fa75-4ae6-8d28-b404dc7daf63"), ns), "GuidNode", 1.0, VT.Double
    )
    await plant.add_variable(
        ua.NodeId(b"\x01\x02\xab", ns, ua.NodeIdType.ByteString), "OpaqueNode", "opaque", VT.String
    )
    pipelined = await plant.add_variable(
        ua.NodeId("Plant.MostPipelined", ns), "MostPipelined", 0, VT.UInt32
    )
    renewals = await plant.add_variable(
        ua.NodeId("Plant.ChannelRenewals", ns), "ChannelRenewals", 0, VT.UInt32
    )
    history = await plant.add_variable(ua.NodeId("Plant.History", ns), "History", 0.0, VT.Double)
    await server.historize_node_data_change(history, period=None, count=0)
    await server.historize_node_data_change(temperature, period=None, count=0)
    storage = server.iserver.history_manager.storage
    now = datetime.now(timezone.utc)
    for i in range(a.history):
        at = now - timedelta(seconds=a.history - i)
        await storage.save_node_value(
            history.nodeid,
            ua.DataValue(ua.Variant(float(i), VT.Double), SourceTimestamp=at, ServerTimestamp=at),
        )
    if a.many:
        many = await plant.add_folder(ua.NodeId("Plant.Many", ns), "Many")
        for i in range(a.many):
            m = await many.add_variable(ua.NodeId(f"Plant.Many.{i}", ns), f"M{i}", float(i), VT.Double)
            await m.set_writable()

    if a.synthetic_history:
        folder = await plant.add_folder(ua.NodeId("Plant.Synthetic", ns), "Synthetic")
        for i in range(a.synthetic_history):
            node = await folder.add_variable(
                ua.NodeId(f"Plant.Synthetic.{i}", ns), f"S{i}", 0.0, VT.Double
            )
            await node.write_attribute(ua.AttributeIds.Historizing, ua.DataValue(True))
            storage.synthetic.add(node.nodeid)
    changing = []
    if a.changing:
        folder = await plant.add_folder(ua.NodeId("Plant.Changing", ns), "Changing")
        for i in range(a.changing):
            changing.append(
                await folder.add_variable(ua.NodeId(f"Plant.Changing.{i}", ns), f"C{i}", 0.0, VT.Double)
            )
    cycles = await plant.add_variable(ua.NodeId("Plant.ChangingCycles", ns), "ChangingCycles", 0, VT.UInt32)
    late = None
    if a.late_history >= 0:
        late = await plant.add_variable(ua.NodeId("Plant.Late", ns), "Late", 0.0, VT.Double)
        await late.write_attribute(ua.AttributeIds.Historizing, ua.DataValue(True))
        await storage.new_historized_node(late.nodeid, None, 0)

    await server.start()
    if changing:
        asyncio.create_task(change(server, changing, cycles))
    if late is not None:
        asyncio.create_task(store_late(storage, late.nodeid, a.late_history / 1000))
    print(f"ready {server.bserver.port}", flush=True)
    k = 0
    try:
        while True:
            await asyncio.sleep(0.1)
            k += 1
            await temperature.write_value(20.0 + math.sin(k / 10), VT.Double)
            await counter.write_value(k, VT.Int32)
            await square.write_value(10.0 * (k % 2), VT.Double)
            await renewals.write_value(RENEWALS, VT.UInt32)
            await pipelined.write_value(PIPELINED, VT.UInt32)
    finally:
        await server.stop()


async def change(server, nodes, cycles):
    """Writes every node of --changing a new value every 100 ms, or as fast as the server can
    when that takes longer; counts the rounds done in Plant.ChangingCycles."""
    done = 0
    while True:
        began = asyncio.get_running_loop().time()
        done += 1
        for node in nodes:
            await server.write_attribute_value(node.nodeid, ua.DataValue(ua.Variant(float(done), VT.Double)))
        await server.write_attribute_value(cycles.nodeid, ua.DataValue(ua.Variant(done, VT.UInt32)))
        left = 0.1 - (asyncio.get_running_loop().time() - began)
        await asyncio.sleep(max(left, 0))


async def store_late(storage, node_id, delay):
    """Plant.Late: value k stamped at the k-th tenth of a second from the start, stored `delay`
    seconds after that instant (in order), as a historian that buffers does."""
    loop = asyncio.get_running_loop()
    tenth = math.floor(time.time() * 10)

    async def save(k, at):
        value = ua.DataValue(ua.Variant(float(k), VT.Double), SourceTimestamp=at, ServerTimestamp=at)
        await storage.save_node_value(node_id, value)

    k = 0
    while True:
        tenth += 1
        await asyncio.sleep(max(0.0, tenth / 10 - time.time()))
        at = datetime.fromtimestamp(tenth / 10, timezone.utc)
        loop.call_later(delay, lambda k=k, at=at: asyncio.ensure_future(save(k, at)))
        k += 1


if __name__ == "__main__":
    asyncio.run(main())
