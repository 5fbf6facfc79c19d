"""Reads every record of a Kafka topic with kafka-python (a client independent of oibus-rs) and
prints one JSON line per record: partition, offset, key, headers, the value (JSON when it is,
else its length and SHA-256), and `keyed_partition`: the partition kafka-python's own default
partitioner (murmur2) gives the key. Usage: kafka_dump.py BOOTSTRAP TOPIC"""

import hashlib
import json
import sys

from kafka import KafkaConsumer, TopicPartition
from kafka.partitioner.default import murmur2


def main():
    bootstrap, topic = sys.argv[1], sys.argv[2]
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        consumer_timeout_ms=3000,
        request_timeout_ms=20000,
    )
    consumer.topics()  # loads the cluster's metadata
    partitions = consumer.partitions_for_topic(topic) or set()
    tps = [TopicPartition(topic, p) for p in sorted(partitions)]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    end = consumer.end_offsets(tps)
    out = sys.stdout
    count = len(tps)
    # Until two polls in a row bring nothing and every partition is read to its end (at most
    # ten empty polls: a broker that never delivers the end ends the dump too).
    empty = 0
    while empty < 10 and (empty < 2 or any(consumer.position(tp) < end[tp] for tp in tps)):
        batch = consumer.poll(timeout_ms=1000, max_records=10000)
        if not batch:
            empty += 1
            continue
        empty = 0
        for tp, records in batch.items():
            for r in records:
                line = {
                    "partition": r.partition,
                    "offset": r.offset,
                    "key": r.key.decode("utf-8", "replace") if r.key is not None else None,
                    "headers": {k: v.decode("utf-8", "replace") for k, v in (r.headers or [])},
                    "timestamp": r.timestamp,
                }
                if r.key is not None:
                    line["keyed_partition"] = (murmur2(r.key) & 0x7FFFFFFF) % count
                try:
                    line["value"] = json.loads(r.value)
                except (ValueError, TypeError):
                    line["size"] = len(r.value or b"")
                    line["sha256"] = hashlib.sha256(r.value or b"").hexdigest()
                out.write(json.dumps(line) + "\n")
    out.write(json.dumps({"end_offsets": {str(tp.partition): end[tp] for tp in tps}}) + "\n")
    consumer.close()


if __name__ == "__main__":
    main()
