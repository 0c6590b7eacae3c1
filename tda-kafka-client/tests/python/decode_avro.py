"""Independent decoder for the interop test: reads Confluent-framed Avro
records with confluent_kafka's Consumer, fetches each writer schema from the
registry by id (GET /schemas/ids/{id}) and decodes the Avro binary with the
small pure-Python decoder below (no code shared with the Rust client). When
confluent_kafka's own AvroDeserializer is importable (needs fastavro), it
decodes too and both results must agree.

usage: decode_avro.py BOOTSTRAP REGISTRY_URL TOPIC N  -> JSON list on stdout
"""
import json
import struct
import sys
import urllib.request

from confluent_kafka import Consumer


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def byte(self):
        b = self.data[self.pos]
        self.pos += 1
        return b

    def long(self):
        shift, acc = 0, 0
        while True:
            b = self.byte()
            acc |= (b & 0x7F) << shift
            if not b & 0x80:
                return (acc >> 1) ^ -(acc & 1)
            shift += 7

    def raw(self, n):
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out


def decode(schema, r, names):
    if isinstance(schema, str):
        if schema in names:
            return decode(names[schema], r, names)
        if schema == "null":
            return None
        if schema == "boolean":
            return r.byte() == 1
        if schema in ("int", "long"):
            return r.long()
        if schema == "float":
            return struct.unpack("<f", r.raw(4))[0]
        if schema == "double":
            return struct.unpack("<d", r.raw(8))[0]
        if schema == "bytes":
            return list(r.raw(r.long()))
        if schema == "string":
            return r.raw(r.long()).decode("utf-8")
        raise ValueError("unsupported type " + schema)
    if isinstance(schema, list):
        return decode(schema[r.long()], r, names)
    t = schema["type"]
    if t == "record":
        names[schema["name"]] = schema
        if "namespace" in schema:
            names[schema["namespace"] + "." + schema["name"]] = schema
        return {f["name"]: decode(f["type"], r, names) for f in schema["fields"]}
    if t == "enum":
        names[schema["name"]] = schema
        return schema["symbols"][r.long()]
    if t in ("array", "map"):
        out = [] if t == "array" else {}
        while True:
            n = r.long()
            if n == 0:
                return out
            if n < 0:
                n = -n
                r.long()  # block size in bytes
            for _ in range(n):
                if t == "array":
                    out.append(decode(schema["items"], r, names))
                else:
                    k = r.raw(r.long()).decode("utf-8")
                    out[k] = decode(schema["values"], r, names)
    return decode(t, r, names)


def main():
    bootstrap, registry, topic, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    try:
        from confluent_kafka.schema_registry import SchemaRegistryClient
        from confluent_kafka.schema_registry.avro import AvroDeserializer
        from confluent_kafka.serialization import MessageField, SerializationContext
        deser = AvroDeserializer(SchemaRegistryClient({"url": registry}))
    except ImportError:
        deser = None
    schemas = {}
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": topic + "-py",
                  "auto.offset.reset": "earliest"})
    c.subscribe([topic])
    out = []
    while len(out) < n:
        m = c.poll(30)
        if m is None:
            sys.exit("timed out after %d of %d records" % (len(out), n))
        if m.error():
            continue
        value = m.value()
        if value[0] != 0:
            sys.exit("not Confluent wire format")
        schema_id = struct.unpack(">I", value[1:5])[0]
        if schema_id not in schemas:
            with urllib.request.urlopen("%s/schemas/ids/%d" % (registry, schema_id)) as resp:
                schemas[schema_id] = json.loads(json.loads(resp.read())["schema"])
        r = Reader(value[5:])
        decoded = decode(schemas[schema_id], r, {})
        if r.pos != len(value) - 5:
            sys.exit("trailing bytes after the datum")
        if deser is not None:
            theirs = deser(value, SerializationContext(topic, MessageField.VALUE))
            if json.loads(json.dumps(theirs)) != json.loads(json.dumps(decoded)):
                sys.exit("AvroDeserializer disagrees: %r vs %r" % (theirs, decoded))
        out.append(decoded)
    c.close()
    print(json.dumps({"records": out, "avro_deserializer_used": deser is not None}))


main()
