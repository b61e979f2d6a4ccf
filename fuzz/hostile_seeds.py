# The hostile cases of the hardening tests, generated for the fuzzers' seed corpora (scripts/fuzz):
# deep and long expressions, doubling lets, huge literals, typos, invisible characters;
# compile bombs (too many locals, blocks nested too deep, too many functions, too many
# memories). Generated, not committed: the files are kilobytes to a hundred kilobytes.
#
#   python3 fuzz/hostile_seeds.py POLICY_DIR PLUGIN_DIR

import os, sys
policies, plugins = sys.argv[1], sys.argv[2]
head = 'policy p v1 applies to all groups {\n  unit cost = $1\n  shipment cost = $1\n'
seeds = {
    "else-if-chain": "  let x = " + "if order.line_count > 1 then 1 else " * 200 + "0\n",
    "then-if-nesting": "  let x = " + "if true then " * 120 + "1" + " else 0" * 120 + "\n",
    "doubling-lets": "  let a0 = 1\n" + "".join(f"  let a{i} = a{i-1} + a{i-1}\n" for i in range(1, 40)),
    "backorder-chain": "  short stock: " + "backorder within 1d else " * 20 + "reject\n",
    "postfix-chain": "  let x = order" + ".lines" * 40 + "\n",
    "huge-money": "  let x = $" + "9" * 308 + " * 10\n  exclude \"big\" when x > $1\n",
    "typos": "".join(f"  let name_{i} = {i}\n  let use_{i} = nmae_{i} + 1\n" for i in range(150)),
    "invisible": '  exclude "x\u202e" when location.id\u200b == "A"\n',
    "one-equals": '  exclude "x" when location.id = "A" && order.line_count > 1\n',
    "huge-horizon": "  short stock: backorder within 9223372036854775807s else reject\n",
    "negative-costs": "  split { max_shipments = 0  penalty = -$1 }\n  short stock: partial at -$5\n",
}
for name, body in seeds.items():
    with open(os.path.join(policies, f"hostile-{name}.policy"), "w", encoding="utf-8") as f:
        f.write(("\ufeff" if name == "invisible" else "") + head + body + "}\n")

def leb(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)

def section(id, payload):
    return bytes([id]) + leb(len(payload)) + payload

def vec(items):
    return leb(len(items)) + b"".join(items)

def module(bodies, memories=0):
    types = section(1, vec([b"\x60\x00\x00"]))
    funcs = section(3, vec([b"\x00"] * len(bodies)))
    mems = section(5, vec([b"\x00\x01"] * memories)) if memories else b""
    code = section(10, vec([leb(len(b)) + b for b in bodies]))
    return b"\x00asm\x01\x00\x00\x00" + types + funcs + mems + code

bombs = {
    "locals": module([vec([leb(100_000) + b"\x7e"]) + b"\x0b"]),
    "nesting": module([b"\x00" + b"\x02\x40" * 600 + b"\x0b" * 601]),
    "functions": module([b"\x00\x0b"] * 25_000),
    "memories": module([b"\x00\x0b"], memories=3),
}
for name, data in bombs.items():
    with open(os.path.join(plugins, f"bomb-{name}.wasm"), "wb") as f:
        f.write(data)
