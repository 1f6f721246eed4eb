"""Tiny AMQP publisher/consumer (python3-pika) for the RabbitMQ tests and demo.

    amqp_client.py publish URL VHOST QUEUE COUNT        publish COUNT messages, exit
    amqp_client.py publish URL VHOST QUEUE 0 --rate R    publish R msg/s until SIGTERM
    amqp_client.py consume URL VHOST QUEUE --prefetch N  take N messages without
                                                          acking and hold them (and
                                                          the channel) until SIGTERM
    amqp_client.py consume URL VHOST QUEUE --ack-rate R  consume and ack R msg/s

URL is amqp://user:pass@host:port (no vhost: it is passed separately).
Prints "ready" on stdout once the work that matters to the caller is done
(published everything, or holding N unacked messages), so tests can wait
for that line instead of sleeping.
"""

import signal
import sys
import time
import urllib.parse

import pika

stopping = False


def _stop(signum, frame):
    global stopping
    stopping = True


def connect(url, vhost):
    params = pika.URLParameters(url + "/" + urllib.parse.quote(vhost, safe=""))
    params.heartbeat = 0
    params.blocked_connection_timeout = None
    return pika.BlockingConnection(params)


def publish(url, vhost, queue, count, rate):
    conn = connect(url, vhost)
    ch = conn.channel()
    props = pika.BasicProperties(delivery_mode=2, timestamp=int(time.time()))
    if count > 0:
        # Confirms make each publish wait until the queue has the message:
        # without them, closing the connection right after the last publish
        # can drop messages still on their way to a quorum queue's leader,
        # and the fixture's exact counts would be off by one.
        ch.confirm_delivery()
        for i in range(count):
            ch.basic_publish("", queue, b"message %d" % i, props)
        print("ready", flush=True)
        conn.close()
        return
    print("ready", flush=True)
    n = 0
    t0 = time.monotonic()
    while not stopping:
        ch.basic_publish("", queue, b"message %d" % n,
                         pika.BasicProperties(delivery_mode=2, timestamp=int(time.time())))
        n += 1
        delay = t0 + n / rate - time.monotonic()
        if delay > 0:
            conn.sleep(min(delay, 0.5))
    conn.close()


def consume(url, vhost, queue, prefetch, ack_rate):
    conn = connect(url, vhost)
    ch = conn.channel()
    held = []
    if ack_rate:
        ch.basic_qos(prefetch_count=10)
        interval = 1.0 / ack_rate

        def on_msg(c, method, props, body):
            conn.sleep(interval)
            c.basic_ack(method.delivery_tag)
        ch.basic_consume(queue, on_msg, auto_ack=False)
        print("ready", flush=True)
        while not stopping:
            conn.process_data_events(time_limit=0.2)
    else:
        ch.basic_qos(prefetch_count=prefetch)
        ch.basic_consume(queue, lambda c, m, p, b: held.append(m.delivery_tag), auto_ack=False)
        announced = False
        while not stopping:
            conn.process_data_events(time_limit=0.1)
            if not announced and len(held) >= prefetch:
                print("ready", flush=True)
                announced = True
    conn.close()


def main(argv):
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    mode, url, vhost, queue = argv[1:5]
    opts = argv[5:]

    def opt(name, default):
        if name in opts:
            return float(opts[opts.index(name) + 1])
        return default
    if mode == "publish":
        publish(url, vhost, queue, int(opts[0]) if opts and not opts[0].startswith("--") else 0,
                opt("--rate", 10))
    elif mode == "consume":
        consume(url, vhost, queue, int(opt("--prefetch", 1)), opt("--ack-rate", 0))
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
