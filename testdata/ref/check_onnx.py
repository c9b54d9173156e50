"""Check ONNX files written by `tgan export` with the ONNX checker (full_check: graph,
operator schemas and shape inference), and list their inputs, outputs and operators.

  /usr/bin/python3 testdata/ref/check_onnx.py OUT/generator.onnx OUT/discriminator.onnx

Standard files (opset 17, ai.onnx only) must pass. Fused files (`--fused cpu|cuda`) use
com.microsoft operators that the checker does not know; they are checked without the
schema pass (structure only) and reported as such. Exits 1 if any file fails.
"""
import sys

import onnx


def check(path):
    m = onnx.load(path)
    domains = {n.domain for n in m.graph.node if n.domain not in ("", "ai.onnx")}
    if domains:
        onnx.checker.check_model(m, full_check=False)
        how = "structure only (contrib domains %s)" % ",".join(sorted(domains))
    else:
        onnx.checker.check_model(m, full_check=True)
        how = "full_check"

    def sig(vs):
        return ", ".join("%s%s" % (v.name, [d.dim_param or d.dim_value
                                            for d in v.type.tensor_type.shape.dim]) for v in vs)

    ops = sorted({(n.domain + "." if n.domain else "") + n.op_type for n in m.graph.node})
    print("%s: ok (%s); in %s; out %s; ops %s" % (path, how, sig(m.graph.input),
                                                   sig(m.graph.output), " ".join(ops)))


def main():
    bad = 0
    for path in sys.argv[1:]:
        try:
            check(path)
        except Exception as e:  # the checker raises several exception types
            print("%s: FAILED: %s" % (path, str(e).splitlines()[0] if str(e) else type(e).__name__))
            bad += 1
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
