#!/usr/bin/env python3
"""Smoke test of the local services (deploy/local/services.sh smoke).

Checks, against the addresses of `services.sh env`:
  ClickHouse  SELECT version(), the test database exists
  SMTP        a mail is accepted and shows up in the server's log
  Kafka       admin topic creation, produce, a consumer group (subscribe, commit with
              metadata, committed() reads it back, a second member of the group resumes
              after the commit), and whether producing to an unknown topic creates it.
Needs confluent-kafka (pip). Prints one line per check; exits 1 if any failed.
"""
import os
import smtplib
import sys
import time
import urllib.request
import uuid
from email.message import EmailMessage

RESULTS = []


def check(name):
    def wrap(fn):
        t0 = time.monotonic()
        try:
            detail = fn()
            RESULTS.append((name, True))
            print(f"ok    {name} ({time.monotonic() - t0:.2f}s){': ' + detail if detail else ''}")
        except Exception as e:  # noqa: BLE001 - report every failure and go on
            RESULTS.append((name, False))
            print(f"FAIL  {name} ({time.monotonic() - t0:.2f}s): {type(e).__name__}: {e}")
        return fn

    return wrap


CH_URL = os.environ.get("CLOUDSAGE_CLICKHOUSE__URL", "http://127.0.0.1:8123")
CH_DB = os.environ.get("CLOUDSAGE_CLICKHOUSE__DATABASE", "cloudsage_test")
BROKERS = os.environ.get("CLOUDSAGE_KAFKA__BROKERS", "127.0.0.1:9092")
SMTP = os.environ.get("CLOUDSAGE_SMTP_ADDR", "127.0.0.1:2525")
SMTP_LOG = sys.argv[1] if len(sys.argv) > 1 else None


def ch(sql):
    req = urllib.request.Request(CH_URL + "/", data=sql.encode())
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.read().decode().strip()


@check("clickhouse: SELECT version()")
def _():
    return ch("SELECT version()")


@check(f"clickhouse: database {CH_DB} exists")
def _():
    dbs = ch("SHOW DATABASES").split()
    assert CH_DB in dbs, dbs


@check("smtp: mail accepted (and logged)")
def _():
    host, port = SMTP.rsplit(":", 1)
    subject = f"cloudsage smoke {uuid.uuid4().hex[:8]}"
    msg = EmailMessage()
    msg["From"] = "cloudsage@localhost"
    msg["To"] = "oncall@localhost"
    msg["Subject"] = subject
    msg.set_content("smoke test")
    with smtplib.SMTP(host, int(port), timeout=10) as s:
        refused = s.send_message(msg)
    assert not refused, refused
    if SMTP_LOG:
        for _ in range(20):
            with open(SMTP_LOG, errors="replace") as f:
                if subject in f.read():
                    return f"found in {SMTP_LOG}"
            time.sleep(0.1)
        raise AssertionError(f"subject not found in {SMTP_LOG}")
    return None


try:
    from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition, libversion
    from confluent_kafka.admin import AdminClient, NewTopic
except ImportError:
    print("FAIL  kafka: confluent-kafka is not installed (pip install confluent-kafka)")
    sys.exit(1)

RUN = uuid.uuid4().hex[:8]
TOPIC = f"smoke.{RUN}"
GROUP = f"smoke-group-{RUN}"
print(f"      confluent-kafka {libversion()[0]} (librdkafka), topic {TOPIC}")

# Settings a CloudSage consumer is expected to use against tansu as well.
CONSUMER = {
    "bootstrap.servers": BROKERS,
    "group.id": GROUP,
    "auto.offset.reset": "earliest",
    "enable.auto.commit": False,
    "session.timeout.ms": 6000,
    "max.poll.interval.ms": 7000,
}


def produce(topic, value, partition=0):
    p = Producer({"bootstrap.servers": BROKERS, "message.timeout.ms": 10000})
    errors = []
    p.produce(topic, value=value, partition=partition, on_delivery=lambda e, m: e and errors.append(e))
    left = p.flush(15)
    assert left == 0, f"{left} message(s) not delivered"
    assert not errors, errors


def consume_one(c, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            raise KafkaException(m.error())
        return m
    raise TimeoutError(f"no message within {timeout}s")


@check("kafka: admin create_topics (3 partitions)")
def _():
    admin = AdminClient({"bootstrap.servers": BROKERS})
    fut = admin.create_topics([NewTopic(TOPIC, num_partitions=3, replication_factor=1)])
    fut[TOPIC].result(15)
    md = admin.list_topics(TOPIC, timeout=10)
    return f"partitions={len(md.topics[TOPIC].partitions)}"


@check("kafka: produce + consume in a group, commit with metadata")
def _():
    produce(TOPIC, b"first")
    c = Consumer(CONSUMER)
    t0 = time.monotonic()
    c.subscribe([TOPIC])
    m = consume_one(c)
    joined = time.monotonic() - t0
    assert m.value() == b"first", m.value()
    tp = TopicPartition(TOPIC, m.partition(), m.offset() + 1, metadata="wm=123")
    c.commit(offsets=[tp], asynchronous=False)
    got = c.committed([TopicPartition(TOPIC, m.partition())], timeout=10)[0]
    c.close()
    assert got.offset == m.offset() + 1, got
    meta = getattr(got, "metadata", None)
    return (f"first message after {joined:.2f}s; committed offset {got.offset}, "
            f"metadata read back: {meta!r}")


@check("kafka: a new group member resumes after the committed offset")
def _():
    produce(TOPIC, b"second")
    c = Consumer(CONSUMER)
    c.subscribe([TOPIC])
    m = consume_one(c)
    c.close()
    assert m.value() == b"second", f"got {m.value()!r} (committed offset not honoured)"


@check("kafka: producing to an unknown topic (auto-creation?)")
def _():
    topic = f"smoke.auto.{RUN}"
    try:
        produce(topic, b"x")
    except AssertionError as e:
        return f"NOT auto-created ({e})"
    admin = AdminClient({"bootstrap.servers": BROKERS})
    md = admin.list_topics(topic, timeout=10)
    t = md.topics.get(topic)
    return f"auto-created, partitions={len(t.partitions) if t else '?'}"


@check("kafka: delete the smoke topics")
def _():
    admin = AdminClient({"bootstrap.servers": BROKERS})
    names = [TOPIC, f"smoke.auto.{RUN}"]
    existing = admin.list_topics(timeout=10).topics
    futs = admin.delete_topics([n for n in names if n in existing])
    for f in futs.values():
        f.result(15)


failed = [n for n, ok in RESULTS if not ok]
print(f"smoke: {len(RESULTS) - len(failed)} ok, {len(failed)} failing")
sys.exit(1 if failed else 0)
